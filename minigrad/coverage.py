"""``python -m minigrad.coverage``: which names of torch's teaching surface minigrad has.

The curated set below is what the course note and the PyTorch tutorials a student meets first
(tensors, autograd, "Learn the basics", "What is torch.nn really?", the CIFAR-10 classifier, sequence
models with LSTM, the Transformer tutorial, custom autograd Functions, forward-mode AD) call. Presence is
read from minigrad itself: the op registry for functions and methods, the namespaces for the rest.
``--missing`` lists what is absent; ``--markdown`` prints the table the README shows.
"""

from __future__ import annotations

import argparse
import sys

TEACHING_SET = {
    "torch": """
        tensor as_tensor from_numpy zeros ones empty full zeros_like ones_like full_like rand randn randint randperm
        rand_like randn_like arange linspace eye manual_seed seed no_grad enable_grad set_grad_enabled inference_mode
        is_grad_enabled save load cat stack split chunk unbind reshape flatten squeeze unsqueeze transpose permute
        t where clamp clip abs exp log log1p sqrt sin cos tanh sigmoid relu softmax log_softmax sum mean std var max
        min argmax argmin amax amin prod cumsum cumprod sort argsort topk median mode logsumexp norm matmul mm bmm
        einsum outer dot addmm baddbmm tril triu diagonal diag trace roll flip repeat_interleave tile gather
        scatter index_select masked_select nonzero unique isnan isinf isfinite allclose equal eq ne lt le gt ge
        maximum minimum lerp atan2 asin acos atan sinh cosh hypot logaddexp round floor ceil sign cdist
        broadcast_tensors meshgrid float32 float64 float16 bfloat16 int64 int32 long bool device Size Tensor
        get_default_dtype set_default_dtype set_default_device get_default_device FloatTensor LongTensor
        get_num_threads set_num_threads autocast
    """,
    "Tensor": """
        backward grad requires_grad requires_grad_ detach detach_ retain_grad register_hook grad_fn is_leaf item
        tolist numpy to cpu cuda float double long int bool half type type_as size shape dim ndim numel view
        view_as reshape reshape_as flatten unflatten squeeze unsqueeze permute transpose t T mT expand expand_as
        repeat contiguous is_contiguous clone sum mean std var max min argmax argmin prod cumsum softmax
        log_softmax exp log sqrt abs relu sigmoid tanh clamp pow matmul mm bmm masked_fill masked_fill_ add_
        sub_ mul_ div_ zero_ fill_ copy_ uniform_ normal_ clamp_ index_select gather scatter scatter_add
        narrow chunk split unbind flip sort argsort topk eq ne lt le gt ge all any norm new_zeros new_ones
        new_tensor new_full unfold nonzero where
    """,
    "nn": """
        Module Parameter Sequential ModuleList ModuleDict ParameterList Linear Bilinear Identity Conv1d Conv2d
        ConvTranspose1d ConvTranspose2d MaxPool1d MaxPool2d AvgPool1d AvgPool2d AdaptiveAvgPool1d
        AdaptiveAvgPool2d AdaptiveMaxPool1d AdaptiveMaxPool2d BatchNorm1d BatchNorm2d LayerNorm GroupNorm
        InstanceNorm1d RMSNorm Dropout Dropout1d Dropout2d Embedding Flatten Unflatten Upsample Unfold Fold ReLU
        LeakyReLU ELU GELU SiLU Mish SELU Sigmoid Tanh Softmax LogSoftmax Softplus Hardtanh ReLU6 GLU
        Hardsigmoid Hardswish LogSigmoid Softsign RNN LSTM GRU RNNCell LSTMCell GRUCell MultiheadAttention
        TransformerEncoderLayer TransformerEncoder MSELoss L1Loss SmoothL1Loss HuberLoss CrossEntropyLoss NLLLoss
        BCELoss BCEWithLogitsLoss KLDivLoss MarginRankingLoss CosineEmbeddingLoss SoftMarginLoss
        MultiLabelSoftMarginLoss PoissonNLLLoss GaussianNLLLoss TripletMarginLoss CosineSimilarity
        PairwiseDistance
    """,
    "nn.functional": """
        relu leaky_relu elu gelu silu mish selu sigmoid tanh softmax log_softmax softplus hardtanh relu6 glu
        logsigmoid linear bilinear conv1d conv2d conv_transpose1d conv_transpose2d max_pool1d max_pool2d
        avg_pool1d avg_pool2d adaptive_avg_pool1d adaptive_avg_pool2d adaptive_max_pool1d adaptive_max_pool2d
        batch_norm layer_norm group_norm instance_norm rms_norm dropout dropout2d embedding one_hot pad
        interpolate unfold fold normalize cosine_similarity pairwise_distance scaled_dot_product_attention
        mse_loss l1_loss smooth_l1_loss huber_loss cross_entropy nll_loss binary_cross_entropy
        binary_cross_entropy_with_logits kl_div margin_ranking_loss cosine_embedding_loss soft_margin_loss
        multilabel_soft_margin_loss poisson_nll_loss gaussian_nll_loss triplet_margin_loss
    """,
}


def _namespaces() -> dict:
    import minigrad

    return {
        "torch": minigrad,
        "Tensor": minigrad.Tensor,
        "nn": minigrad.nn,
        "nn.functional": minigrad.nn.functional,
    }


def _has(namespace, name: str) -> bool:
    if namespace.__name__ == "Tensor" and name in ("grad", "requires_grad", "grad_fn", "shape", "ndim", "T", "mT"):
        import minigrad

        return hasattr(minigrad.ones(2, 2), name)  # instance attributes and properties
    return hasattr(namespace, name)


def report() -> list:
    """``[(namespace, names, missing)]`` for the teaching set."""
    spaces = _namespaces()
    rows = []
    for where, text in TEACHING_SET.items():
        names = text.split()
        rows.append((where, names, [n for n in names if not _has(spaces[where], n)]))
    return rows


def markdown(rows) -> str:
    lines = ["| torch namespace | teaching names | in minigrad | missing |", "|---|---|---|---|"]
    for where, names, missing in rows:
        shown = ", ".join(f"`{m}`" for m in missing) or "none"
        lines.append(f"| `{where}` | {len(names)} | {len(names) - len(missing)} | {shown} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minigrad.coverage", description=__doc__.split("\n")[0])
    parser.add_argument("--missing", action="store_true", help="list only the missing names")
    parser.add_argument("--markdown", action="store_true", help="print the README's table")
    args = parser.parse_args(argv)
    rows = report()
    if args.markdown:
        print(markdown(rows))
    elif args.missing:
        for where, _, missing in rows:
            print(f"{where}: {' '.join(missing) or '-'}")
    else:
        for where, names, missing in rows:
            print(f"{where:14s} {len(names) - len(missing):4d} of {len(names):4d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
