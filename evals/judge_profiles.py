"""How the offline judge reads each embedder's similarities: thresholds, rescaling, and the unrelated text it is measured against.

Kept apart from the judge (evals/judge.py) because these are calibration data, each
value set from measured pairs; changing one changes what every reported number means.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JudgeProfile:
    """How the offline judge reads one embedder's similarities.

    Args:
        support_threshold, fact_threshold: score needed to call a claim supported / a fact found.
        number_penalty: subtracted, times the share of the claim's numbers the evidence lacks
            (a claim with a number its source does not have is likely wrong).
        recentre: rescale each cosine as (cos - u) / (1 - u), where u is how similar unrelated
            text gets: the mean of the claim's 90th-percentile cosine to unrelated units
            (`BACKGROUND`) in the evidence's language and the evidence unit's to unrelated
            sentences in the claim's language. 0 then means "as similar as unrelated text", 1
            "identical". E5 needs it: its raw cosines sit in a narrow, high band (unrelated pairs
            0.80-0.93, paraphrases from 0.86), lower across languages than within one, so no raw
            threshold separates even the calibration pairs.
        semantic_scale: multiplies the semantic score (capped at 1), to put it on the scale of
            the lexical score: then a threshold (and the number penalty) means the same for both.
        embed_pairs: embed two adjacent sentences as one text; False averages the two sentences'
            vectors instead, which halves the texts to embed and drops the longest (E5 is slow).
    """

    support_threshold: float
    fact_threshold: float
    number_penalty: float = 0.3
    recentre: bool = False
    semantic_scale: float = 1.0
    embed_pairs: bool = True


# Calibrated on obvious pairs (tests/test_evals.py::test_offline_judge_calibration), each
# threshold mid-gap. USE-multilingual: supporting paraphrases and zh translations score
# 0.60-1.0, unrelated claims <= 0.17 and a claim with a wrong number 0.41; stated key facts
# 0.51-1.0, absent ones <= 0.21. E5 (recentred, x2): supporting 0.46-1.0, unrelated <= 0.25,
# wrong number 0.40; stated 0.43-1.0, absent <= 0.27. E5's weakest pairs are the zh->en ones,
# so its margins are narrower, and on real passages it is the more lenient judge: claims of
# one answer judged against another answer's passages were "supported" 21% of the time by
# E5 and 6% by USE (110 claims of the extractive answers, 2026-11-22).
PROFILES: dict[str, JudgeProfile] = {
    "e5-multilingual": JudgeProfile(support_threshold=0.43, fact_threshold=0.35, number_penalty=0.6,
                                    recentre=True, semantic_scale=2.0, embed_pairs=False),
    "use-multilingual": JudgeProfile(support_threshold=0.5, fact_threshold=0.4),
}
DEFAULT_EMBEDDER = "e5-multilingual"
LEVEL_QUANTILE = 0.9  # "how similar unrelated text gets": near the top, as a claim is scored by its best unit

# Unrelated sentences that set the "unrelated" level for `recentre`, per language: long
# technical prose like the evidence (short, plain sentences set the level too low), on
# classical ML and computing topics that the handbook's questions are not about.
BACKGROUND = {
    "en": (
        "A B-tree index keeps its keys sorted in wide pages, so a lookup touches only a few disk blocks even "
        "when the table holds millions of rows.",
        "K-means alternates between assigning every point to its nearest centroid and moving each centroid to "
        "the mean of its points, until the assignments stop changing.",
        "Gradient-boosted trees add one shallow tree at a time, each fitted to the residual errors that the "
        "ensemble built so far still makes on the training data.",
        "With k-fold cross-validation the data is split into k parts, and each part serves once as the "
        "held-out set while the model is trained on the remaining ones.",
        "Principal component analysis projects the data onto the directions of largest variance, which are the "
        "top eigenvectors of its covariance matrix.",
        "A support vector machine with an RBF kernel separates classes that are not linearly separable by "
        "implicitly mapping the inputs into a higher-dimensional space.",
        "Collaborative filtering recommends items to a user from the ratings of other users whose past "
        "preferences were similar, without looking at the items' content.",
        "Mel-frequency cepstral coefficients summarise the short-term power spectrum of an audio signal and were "
        "the standard input features of classic speech recognisers.",
        "An ARIMA model forecasts a time series from its own lagged values and past forecast errors, after "
        "differencing the series to remove its trend.",
        "Random crops, flips and colour jitter enlarge an image dataset cheaply, and the augmented copies make a "
        "convolutional classifier more robust to small shifts.",
        "A compiler's register allocator decides which variables live in the few CPU registers and which are "
        "spilled to memory, often by colouring an interference graph.",
        "Memory bandwidth rather than arithmetic often limits a GPU kernel, so fusing several element-wise "
        "operations into one pass over the data can speed it up considerably.",
    ),
    "zh": (
        "B 树索引把键按顺序存放在较宽的页中，所以即使表里有上百万行，一次查找也只需要读取少数几个磁盘块。",
        "K 均值聚类交替进行两步：把每个点分配给最近的质心，再把每个质心移动到其所属点的均值处，直到分配不再变化。",
        "梯度提升树每次增加一棵较浅的树，每棵新树都拟合当前集成模型在训练数据上仍然存在的残差。",
        "在 k 折交叉验证中，数据被分成 k 份，每一份轮流作为验证集，其余各份用于训练模型。",
        "主成分分析把数据投影到方差最大的方向上，这些方向就是协方差矩阵最大的几个特征向量。",
        "使用 RBF 核的支持向量机通过把输入隐式映射到更高维的空间，来分开线性不可分的类别。",
        "协同过滤根据偏好相似的其他用户的评分向用户推荐物品，而不需要分析物品本身的内容。",
        "梅尔频率倒谱系数概括了音频信号的短时功率谱，曾经是传统语音识别系统的标准输入特征。",
        "ARIMA 模型先对时间序列做差分以去除趋势，再用序列自身的滞后值和过去的预测误差来预测未来。",
        "随机裁剪、翻转和颜色抖动可以低成本地扩充图像数据集，使卷积分类器对小的位移更加鲁棒。",
        "编译器的寄存器分配器决定哪些变量放在少量的 CPU 寄存器中、哪些溢出到内存，常用的方法是对冲突图着色。",
        "GPU 内核的瓶颈往往是显存带宽而不是算力，因此把多个逐元素运算融合成一次遍历可以明显提速。",
    ),
}
