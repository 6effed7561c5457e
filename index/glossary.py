"""Chinese ML terms with their English names, to let the keyword leg read Chinese questions.

BM25 cannot cross languages: "低秩适配器怎么省显存？" shares no term with an
English passage about low-rank adapters. `expand` appends the English names
of the Chinese terms a question contains, so the keyword leg can match
English passages too (the dense multilingual leg already can). The glossary
comes from two places, neither from the eval questions: the handbook's own
bilingual outline (each manifest section name beside its English heading,
`ingest/handbook_en.json`) and the general ML vocabulary below.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

_NAMES = Path(__file__).resolve().parent.parent / "ingest" / "handbook_en.json"

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


@lru_cache(maxsize=1)
def glossary() -> dict[str, str]:
    """Chinese term -> English, from the handbook outline and the general list."""
    terms = dict(GENERAL)
    names = json.loads(_NAMES.read_text(encoding="utf-8"))
    for part in names.values():
        for zh, en in part.get("sections", {}).items():
            zh = re.split(r"[（(]", zh)[0].strip()
            if re.search(r"[\u4e00-\u9fff]", zh) and len(zh) >= 2:
                terms.setdefault(zh, en)
    return terms


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern:
    keys = sorted(glossary(), key=len, reverse=True)  # longest first: 低秩适配器 before 低秩
    return re.compile("|".join(map(re.escape, keys)))


def expand(question: str) -> str:
    """The English names of the glossary terms in a question ("" when none)."""
    if not re.search(r"[\u4e00-\u9fff]", question):
        return ""
    found = dict.fromkeys(glossary()[m.group()] for m in _pattern().finditer(question))
    return " ".join(found)
