"""Chinese ML terms with their English names, to let the keyword leg read Chinese questions.

BM25 cannot cross languages: "低秩适配器怎么省显存？" shares no term with an
English passage about low-rank adapters. `expand` appends the English names
of the Chinese terms a question contains, so the keyword leg can match
English passages too (the dense multilingual leg already can). The glossary
comes from two places, neither from the eval questions: the handbook's own
bilingual outline (each manifest section name beside its English heading,
`core/handbook_en.json`) and the general ML vocabulary below.
"""

from __future__ import annotations

import re
from functools import lru_cache

from core.handbook import part_names
from core.language import HAN_CHAR

# Common terms of ML and LLM teaching material, longest-match first at use.
GENERAL = {
    "注意力": "attention", "自注意力": "self-attention", "多头注意力": "multi-head attention",
    "微调": "fine-tuning", "指令微调": "instruction tuning", "预训练": "pretraining", "训练": "training",
    "量化": "quantization", "蒸馏": "distillation", "知识蒸馏": "knowledge distillation", "剪枝": "pruning",
    "推理": "inference", "解码": "decoding", "编码器": "encoder", "解码器": "decoder", "自回归": "autoregressive",
    "词元": "token", "分词": "tokenization", "分词器": "tokenizer", "词表": "vocabulary", "嵌入": "embedding",
    "词向量": "word embedding", "向量": "vector", "向量数据库": "vector database", "检索": "retrieval",
    "检索增强生成": "retrieval-augmented generation RAG", "重排序": "reranking", "生成": "generation",
    "上下文": "context", "上下文窗口": "context window", "提示": "prompt", "提示词": "prompt",
    "思维链": "chain-of-thought", "少样本": "few-shot", "零样本": "zero-shot", "幻觉": "hallucination",
    "评估": "evaluation", "基准": "benchmark", "多模态": "multimodal", "视觉": "vision", "图像": "image",
    "语言模型": "language model", "大语言模型": "large language model LLM", "大模型": "large language model LLM",
    "参数": "parameters", "权重": "weights", "梯度": "gradient", "反向传播": "backpropagation", "损失": "loss",
    "损失函数": "loss function", "交叉熵": "cross-entropy", "优化器": "optimizer", "学习率": "learning rate",
    "批量": "batch", "过拟合": "overfitting", "正则化": "regularization", "归一化": "normalization",
    "层归一化": "layer normalization", "残差": "residual", "激活函数": "activation function", "卷积": "convolution",
    "神经网络": "neural network", "循环神经网络": "recurrent neural network RNN", "长短期记忆": "LSTM",
    "门控": "gated", "前馈": "feed-forward", "位置编码": "positional encoding", "旋转位置编码": "rotary RoPE",
    "混合专家": "mixture of experts MoE", "专家": "experts", "路由": "router routing", "稀疏": "sparse",
    "缓存": "cache", "键值缓存": "key-value cache KV", "显存": "GPU memory", "内存": "memory",
    "并行": "parallelism", "张量并行": "tensor parallelism", "流水线并行": "pipeline parallelism",
    "数据并行": "data parallelism", "分布式": "distributed", "缩放定律": "scaling laws", "算力": "compute",
    "强化学习": "reinforcement learning", "奖励": "reward", "奖励模型": "reward model", "策略": "policy",
    "人类反馈": "human feedback RLHF", "偏好": "preference", "对齐": "alignment", "智能体": "agent",
    "代理": "agent", "工具调用": "tool use", "函数调用": "function calling", "合成数据": "synthetic data",
    "可解释性": "interpretability", "机制可解释性": "mechanistic interpretability", "特征": "features",
    "概率": "probability", "分布": "distribution", "采样": "sampling", "温度": "temperature",
    "束搜索": "beam search", "贪心": "greedy", "马尔可夫": "Markov", "贝叶斯": "Bayesian", "回归": "regression",
    "分类": "classification", "聚类": "clustering", "监督学习": "supervised learning", "时间序列": "time series",
    "变分自编码器": "variational autoencoder VAE", "自编码器": "autoencoder", "生成对抗网络": "generative adversarial network GAN",
    "扩散模型": "diffusion model", "扩散": "diffusion", "噪声": "noise", "去噪": "denoising", "正态化流": "normalizing flows",
    "状态空间模型": "state space model", "滑动窗口": "sliding window", "线性注意力": "linear attention",
    "推测解码": "speculative decoding", "投机解码": "speculative decoding", "投机采样": "speculative sampling", "对比学习": "contrastive learning", "推测性解码": "speculative decoding",
    "低秩": "low-rank", "适配器": "adapter", "低秩适配": "low-rank adaptation LoRA", "合并": "merging",
    "模型合并": "model merging", "长上下文": "long context", "结构化输出": "structured output",
    "主题模型": "topic modeling", "编码": "encoding", "计算": "compute", "效率": "efficiency", "速度": "speed",
}

# More of the same vocabulary, by handbook part: the terms a learner reading Chinese notes uses
# for what the English blogs name (classic NLP and statistics, networks, transformers,
# fine-tuning, retrieval and agents, inference, generative models, interpretability).
MORE = {
    # statistics, classic ML and NLP
    "停用词": "stop words", "词袋": "bag of words", "词频": "term frequency", "逆文档频率": "inverse document frequency",
    "词干提取": "stemming", "词形还原": "lemmatization", "语料": "corpus", "语料库": "corpus", "困惑度": "perplexity",
    "最大似然": "maximum likelihood", "似然": "likelihood", "先验": "prior", "后验": "posterior", "方差": "variance",
    "信息论": "information theory", "熵": "entropy", "散度": "divergence", "线性代数": "linear algebra",
    "矩阵": "matrix", "矩阵乘法": "matrix multiplication", "特征值": "eigenvalue", "奇异值分解": "singular value decomposition SVD",
    "降维": "dimensionality reduction", "主成分分析": "principal component analysis PCA", "支持向量机": "support vector machine SVM",
    "决策树": "decision tree", "随机森林": "random forest", "逻辑回归": "logistic regression", "线性回归": "linear regression",
    "梯度下降": "gradient descent", "随机梯度下降": "stochastic gradient descent SGD", "动量": "momentum",
    "权重衰减": "weight decay", "随机失活": "dropout", "丢弃法": "dropout", "批归一化": "batch normalization",
    "早停": "early stopping", "超参数": "hyperparameters", "验证集": "validation set", "测试集": "test set",
    "训练集": "training set", "泛化": "generalization", "欠拟合": "underfitting", "数据集": "dataset",
    "数据增强": "data augmentation", "准确率": "accuracy", "召回率": "recall", "精确率": "precision",
    "人工智能": "artificial intelligence AI", "机器学习": "machine learning", "深度学习": "deep learning",
    "自然语言处理": "natural language processing NLP", "计算机视觉": "computer vision", "开源": "open source",
    # networks and sequence models
    "感知机": "perceptron", "多层感知机": "multilayer perceptron MLP", "隐藏层": "hidden layer", "全连接": "fully connected",
    "池化": "pooling", "卷积神经网络": "convolutional neural network CNN", "残差网络": "residual network ResNet",
    "梯度消失": "vanishing gradient", "梯度爆炸": "exploding gradient", "梯度裁剪": "gradient clipping",
    "序列到序列": "sequence-to-sequence seq2seq", "门控循环单元": "gated recurrent unit GRU", "输入门": "input gate",
    "遗忘门": "forget gate", "输出门": "output gate", "隐状态": "hidden state", "隐藏状态": "hidden state",
    "马尔可夫链": "Markov chain", "隐马尔可夫模型": "hidden Markov model HMM", "蒙特卡洛": "Monte Carlo",
    "折扣因子": "discount factor", "价值函数": "value function", "马尔可夫决策过程": "Markov decision process MDP",
    "策略梯度": "policy gradient", "近端策略优化": "proximal policy optimization PPO",
    "直接偏好优化": "direct preference optimization DPO",
    # transformers
    "掩码": "mask masking", "因果掩码": "causal mask", "点积": "dot product", "缩放点积注意力": "scaled dot-product attention",
    "多查询注意力": "multi-query attention MQA", "分组查询注意力": "grouped-query attention GQA",
    "位置嵌入": "position embedding", "词嵌入": "word embedding", "字节对编码": "byte pair encoding BPE", "子词": "subword",
    "残差连接": "residual connection", "掩码语言模型": "masked language model", "上下文学习": "in-context learning",
    "涌现": "emergent", "涌现能力": "emergent abilities", "查询": "query", "键向量": "key vector", "值向量": "value vector",
    # fine-tuning and alignment
    "参数高效微调": "parameter-efficient fine-tuning PEFT", "全量微调": "full fine-tuning", "监督微调": "supervised fine-tuning SFT",
    "前缀微调": "prefix tuning", "提示微调": "prompt tuning", "灾难性遗忘": "catastrophic forgetting",
    "指令": "instruction", "混合精度": "mixed precision", "半精度": "half precision", "浮点": "floating point",
    # retrieval, agents and prompting
    "分块": "chunking chunks", "切块": "chunking chunks", "语义搜索": "semantic search", "关键词": "keyword",
    "稀疏检索": "sparse retrieval", "稠密检索": "dense retrieval", "密集检索": "dense retrieval",
    "近似最近邻": "approximate nearest neighbor ANN", "最近邻": "nearest neighbor", "相似度": "similarity",
    "余弦相似度": "cosine similarity", "知识图谱": "knowledge graph", "知识库": "knowledge base", "问答": "question answering",
    "长期记忆": "long-term memory", "短期记忆": "short-term memory", "记忆": "memory", "规划": "planning",
    "反思": "reflection", "提示工程": "prompt engineering", "自洽性": "self-consistency", "自一致性": "self-consistency",
    # inference
    "吞吐量": "throughput", "延迟": "latency", "批处理": "batching", "连续批处理": "continuous batching",
    "算子融合": "kernel fusion", "分页注意力": "paged attention PagedAttention", "草稿模型": "draft model",
    # generative models and multimodality
    "生成模型": "generative model", "潜在空间": "latent space", "隐空间": "latent space", "潜变量": "latent variable",
    "变分推断": "variational inference", "证据下界": "evidence lower bound ELBO", "分数匹配": "score matching",
    "得分匹配": "score matching", "文生图": "text-to-image", "图像生成": "image generation", "超分辨率": "super-resolution",
    "无分类器引导": "classifier-free guidance", "视觉语言模型": "vision-language model", "语音": "speech audio",
    "音频": "audio", "视频": "video", "视觉编码器": "vision encoder",
    # interpretability
    "稀疏自编码器": "sparse autoencoder SAE", "探针": "probing probe", "神经元": "neuron", "电路": "circuits",
    "叠加": "superposition", "表示工程": "representation engineering", "控制向量": "control vectors", "激活": "activations",
    # more general vocabulary: reinforcement learning, training, decoding, retrieval, generation, classic ML
    "人类反馈强化学习": "reinforcement learning from human feedback RLHF", "贝尔曼方程": "Bellman equation",
    "时序差分": "temporal difference TD", "探索与利用": "exploration exploitation", "专家并行": "expert parallelism",
    "梯度检查点": "gradient checkpointing", "梯度累积": "gradient accumulation", "学习率预热": "learning rate warmup",
    "预热": "warmup", "余弦退火": "cosine annealing", "贪心解码": "greedy decoding", "贪心搜索": "greedy search",
    "核采样": "nucleus sampling top-p", "KV缓存": "KV cache", "KV 缓存": "KV cache",
    "相对位置编码": "relative positional encoding", "长度外推": "length extrapolation", "上下文长度": "context length",
    "拒绝采样": "rejection sampling", "数据清洗": "data cleaning filtering", "去重": "deduplication",
    "评测": "evaluation benchmark", "计算最优": "compute-optimal", "向量检索": "vector search",
    "倒排索引": "inverted index", "重排": "reranking", "混合检索": "hybrid search",
    "图神经网络": "graph neural network GNN", "注意力分数": "attention scores", "缩放点积": "scaled dot-product",
    "判别器": "discriminator", "生成器": "generator", "噪声调度": "noise schedule", "采样步数": "sampling steps",
    "潜在扩散": "latent diffusion", "文本编码器": "text encoder", "视觉问答": "visual question answering VQA",
    "图像描述": "image captioning", "语音识别": "speech recognition ASR", "语音合成": "text-to-speech TTS",
    "模型压缩": "model compression", "低比特": "low-bit", "权重量化": "weight quantization",
    "激活量化": "activation quantization", "校准": "calibration", "批大小": "batch size", "朴素贝叶斯": "naive Bayes",
    "特征工程": "feature engineering", "平滑": "smoothing", "n元语法": "n-gram", "前馈网络": "feed-forward network FFN",
    "前馈层": "feed-forward layer",
}


@lru_cache(maxsize=1)
def glossary() -> dict[str, str]:
    """Chinese term -> English, from the handbook outline and the general list."""
    terms = {**MORE, **GENERAL}
    for part in part_names().values():
        for zh, en in part.get("sections", {}).items():
            zh = re.split(r"[（(]", zh)[0].strip()
            if HAN_CHAR.search(zh) and len(zh) >= 2:
                terms.setdefault(zh, en)
    return terms


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern:
    keys = sorted(glossary(), key=len, reverse=True)  # longest first: 低秩适配器 before 低秩
    return re.compile("|".join(map(re.escape, keys)))


def expand(question: str) -> str:
    """The English names of the glossary terms in a question ("" when none)."""
    if not HAN_CHAR.search(question):
        return ""
    found = dict.fromkeys(glossary()[m.group()] for m in _pattern().finditer(question))
    return " ".join(found)


@lru_cache(maxsize=1)
def _english() -> tuple[dict[str, str], re.Pattern]:
    """English name (lower case) -> its first Chinese term, and a pattern that finds the names in English text."""
    first: dict[str, str] = {}
    for zh, en in glossary().items():
        if len(en) >= 3:
            first.setdefault(en.lower(), zh)
    names = sorted(first, key=len, reverse=True)  # "self-attention" before "attention"
    return first, re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, names)) + r")(?![\w-])", re.IGNORECASE)


def chinese_names(text: str, question: str = "", limit: int = 6, words: bool = True) -> list[tuple[str, str]]:
    """(English name as `text` writes it, Chinese term) for the glossary names in English `text`.

    A learner who asked in Chinese and is shown English sentences reads them with these. Terms of
    `question` come first, under the learner's own word for them (隐空间, not 潜在空间); then
    multi-word names, which are the ones a learner is least likely to know, before single words.
    Without `words`, a single common word comes only when the question asks about it: "Recall that we
    need ..." is no 召回率, and "compute the value" no 算力 (names of several words, and hyphenated
    ones, have one sense).
    """
    first, pattern = _english()
    asked = {glossary()[m.group()].lower(): m.group() for m in _pattern().finditer(question)} if question else {}
    seen: dict[str, tuple[tuple, tuple[str, str]]] = {}
    for m in pattern.finditer(text):
        key = m.group().lower()
        if not words and key not in asked and " " not in key and "-" not in key:
            continue
        if key not in seen:
            rank = (key not in asked, " " not in key and "-" not in key, m.start())
            seen[key] = (rank, (m.group(), asked.get(key, first[key])))
    return [pair for _, pair in sorted(seen.values())[:limit]]


@lru_cache(maxsize=1)
def _terms() -> dict[str, frozenset[str]]:
    """English name (lower case) -> every Chinese term the glossary has for it (投机解码, 推测解码, ...)."""
    terms: dict[str, set[str]] = {}
    for zh, en in glossary().items():
        terms.setdefault(en.lower(), set()).add(zh)
    return {en: frozenset(zh) for en, zh in terms.items()}


def names_in(text: str) -> list[tuple[str, frozenset[str]]]:
    """(English name as `text` writes it, every Chinese term for it) for the glossary's names in English `text`."""
    _, pattern = _english()
    return [(m.group(), _terms()[m.group().lower()]) for m in pattern.finditer(text)]
