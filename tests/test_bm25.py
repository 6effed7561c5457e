from index.bm25 import Bm25, tokenize


def test_tokenize_stems_english_and_drops_stopwords():
    assert tokenize("The models are Training quickly") == ["model", "train", "quick"]


def test_tokenize_segments_chinese_and_keeps_mixed_terms():
    terms = tokenize("什么是注意力机制？LoRA 微调")
    assert "注意力" in terms and "机制" in terms and "lora" in terms and "微调" in terms
    assert "什么" not in terms


def test_bm25_ranks_rarer_and_repeated_terms_higher():
    docs = [tokenize(t) for t in ["lora lora adapters", "attention heads", "lora and attention", "diffusion noise"]]
    bm = Bm25(docs)
    ranked = [i for i, _ in bm.search("LoRA adapters", 4)]
    assert ranked[0] == 0 and set(ranked) == {0, 2}
    assert bm.search("cooking pasta", 3) == []


def test_bm25_hand_computed_score():
    docs = [["a", "b"], ["b", "c", "c"]]
    bm = Bm25(docs, k1=1.2, b=0.75)
    import math

    idf_c = math.log(1 + (2 - 1 + 0.5) / (1 + 0.5))
    avg = 2.5
    expected = idf_c * 2 * 2.2 / (2 + 1.2 * (1 - 0.75 + 0.75 * 3 / avg))
    assert abs(bm.scores(["c"])[1] - expected) < 1e-5 and bm.scores(["c"])[0] == 0


def test_tokenizing_in_many_threads_at_once_gives_what_one_thread_gives():
    import sys
    from concurrent.futures import ThreadPoolExecutor

    from index.bm25 import _stem

    words = [f"{stem}{suffix}" for stem in ("nation", "relat", "condition", "generat", "operat", "calibr", "rational")
             for suffix in ("al", "ally", "ization", "izations", "ing", "ings", "ed", "ness", "ful", "fulness", "ively")]
    words = [f"{w}{'s' * k}" for k in range(6) for w in words]
    expected = [_stem.__wrapped__(w) for w in words]
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads mid-word as often as the interpreter can
    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: [_stem.__wrapped__(w) for w in words], range(16)))
    finally:
        sys.setswitchinterval(old)
    assert all(r == expected for r in results)


def test_begins_finds_an_indexed_term_by_its_start():
    bm = Bm25([tokenize("Read sumanthrh.com on distributed training"), tokenize("LoRA adapters")])
    assert bm.begins("sumanth") and bm.begins("lora") and bm.begins("distribut")
    assert not bm.begins("splatting") and not bm.begins("zzz")
