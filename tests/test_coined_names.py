import pytest

from tutor.answer.refusal import coined_names, sets_the_scene, topic_names


@pytest.mark.parametrize("question, expected", [
    # capitals inside a word, hyphened parts with two capitals or a last single letter
    ("How does GaLore reduce optimizer memory?", [("GaLore",)]),
    ("How does DP-SGD work?", [("DP-SGD",)]),
    ("What's min-p sampling?", [("min-p",)]),
    # another name in brackets: capitalised, or small words; the fullest name before it first
    ("How does Mixture-of-Depths (MoD) route tokens?", [("Mixture-of-Depths", "MoD")]),
    ("How does ALiBi (Attention with Linear Biases) work?", [("ALiBi", "Attention with Linear Biases")]),
    ("What is flow matching (rectified flow), and why?", [("flow matching", "rectified flow")]),
    ("想用 Flower 框架做联邦学习（federated learning），怎么搭？", [("federated learning",)]),
    ("Meta 的 Byte Latent Transformer（BLT）是怎么切 patch 的？", [("Byte Latent Transformer", "BLT")]),
    ("Compare min-p sampling and top-p (nucleus) sampling", [("top-p", "nucleus"), ("min-p",)]),
    # an acronym with its vowels small, however everyday the word it spells ("vera"); a sentence's full stop is not its
    ("How does VeRA share its random matrices?", [("VeRA",)]),
    ("I have read about GaLore.", [("GaLore",)]),
    # not names: acronyms, words with digits, an everyday suffix, a common product, asides in brackets
    ("What is RLHF, and why do PPO and DPO differ?", []),
    ("Can I fine-tune Llama-2-13B or GPT-4o with it?", []),
    ("Does RWKV use LSTM-style gates?", []),
    ("Can I run it on my iPhone?", []),
    ("Does the YouTube video use JavaScript?", []),  # (products: long, or opening small like "iPhone")
    ("What was the data mixed from (I saw CCNet mentioned)?", []),
    ("What does the model learn (what shape does it have)?", []),
    ("Why the reversed KL divergence KL(q||p)?", []),
    ("How do I infer the density of the new variable p(x) from that of z?", []),
    ("Which datasets did it use (Lilian Weng mentions them)?", []),
])
def test_coined_names(question, expected):
    assert coined_names(question) == expected


@pytest.mark.parametrize("question, word, expected", [
    # the learner's own setup, the question asked elsewhere: its absence from the sources says nothing
    ("我在用 gymnasium 的 FrozenLake 练表格型强化学习。Q-learning 和 SARSA 的区别在哪？", "FrozenLake", True),
    ("How do I fine-tune a model for my PyCharm project?", "PyCharm", True),
    ("In my own MySQL database, how should I store embeddings?", "MySQL", True),
    ("我用 WeChat 小程序做问答机器人，RAG 的检索部分该怎么设计？", "WeChat", True),
    ("I'm writing a study plan and will keep my notes in GoodNotes. Which videos did its ViT day use?", "GoodNotes", True),
    ("我们在 OpenSearch 里做客服问答检索。cutoff 增强有哪几种做法？", "OpenSearch", True),
    ("I read about Mirostat sampling. How is Mirostat different from top-p?", "Mirostat", False),
    ("I'm trying Mirostat sampling in my chat app. How does it adjust the sampling?", "Mirostat", False),
    ("I wonder how GaLore saves memory?", "GaLore", False),
    # what is asked about: named as the subject, pointed back at, or heard of rather than used
    ("How does GaLore work in my setup?", "GaLore", False),
    ("I'm using GaLore, how does it save memory?", "GaLore", False),
    ("我在用 GaLore 微调，它为什么省显存？", "GaLore", False),
    ("My friend says GaLore saves memory. How?", "GaLore", False),
    ("How do I convert a Llama checkpoint into a TensorRT-LLM engine?", "TensorRT-LLM", False),
])
def test_a_word_that_only_sets_the_scene(question, word, expected):
    assert sets_the_scene(question, word) is expected


@pytest.mark.parametrize("question, expected", [
    ("Donut 这种不用 OCR 的文档理解模型，是怎么直接看着扫描图生成结构化字段的？", ["Donut"]),
    ("我在用 gymnasium 练。Karpathy 怎么看？", ["Karpathy"]),  # each sentence's opening
    # a name inside a sentence is as often the learner's scene or a citation; acronyms may be spelled out
    ("我在 Mac mini 上跑一个小模型，思维链什么时候有用？", []),
    ("d2l 提到了 Constitutional AI（Bai 等人 2022），它和 InstructGPT 有什么不同？", []),
    ("RLHF 是什么？", []),
    ("Mamba-2 的混合模型效果如何？", []),
    # in English the first word's capital is grammar's
    ("Donut is a word I saw. What is OCR?", []),
])
def test_the_names_a_chinese_question_opens_on(question, expected):
    assert topic_names(question) == expected
