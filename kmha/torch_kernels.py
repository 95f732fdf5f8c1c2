"""What kmha calls directly on the torch backend, where Keras's wrappers cost more than the work.

On torch, `ops.einsum` and `ops.dot_product_attention` add Python work to every call
(dtype standardization, tensor conversion, and in the attention a `.contiguous()` copy
of each of query, key and value, and a repeat of grouped key/value heads). kmha's two
hot spots call torch's own functions instead:

- `linear`: a projection that contracts trailing input axes with leading kernel axes
  (every `HeadProjection` kmha configures) is one `torch.nn.functional.linear`, whose
  bias add is fused into the matrix multiply (`linear_applies` says when it applies;
  otherwise the caller uses Keras's einsum).
- `scaled_dot_product_attention`: torch's SDPA on transposed views of the (B, T, heads,
  dim) tensors, in the memory layout its CPU flash kernel reads, with grouped key/value
  heads shared through ``enable_gqa`` instead of repeated.

Both compute what the Keras ops compute (tests compare them). `hooked` says whether torch
would run a hook around a module (then kmha calls its projections through `__call__`, see
`HeadProjection.call_from`). Only imported on the torch backend.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.nn.modules import module as torch_module

# torch's SDPA shares grouped key/value heads itself (`enable_gqa`) from torch 2.5.
_SHARES_KV_HEADS = tuple(int(p) for p in torch.__version__.split(".")[:2]) >= (2, 5)


def hooked(module) -> bool:
    """Whether torch would run a hook around ``module``'s forward (its own or global)."""
    return bool(
        module._forward_hooks
        or module._forward_pre_hooks
        or module._backward_hooks
        or module._backward_pre_hooks
        or torch_module._global_forward_hooks
        or torch_module._global_forward_pre_hooks
        or torch_module._global_backward_hooks
        or torch_module._global_backward_pre_hooks
    )


def linear_applies(inputs, kernel) -> bool:
    """Whether `linear` computes this projection: float tensors of one dtype, as Keras's
    einsum would run them (another mix goes to Keras's einsum, which promotes)."""
    return (
        isinstance(inputs, torch.Tensor)
        and isinstance(kernel, torch.Tensor)
        and inputs.dtype == kernel.dtype
        and inputs.dtype.is_floating_point
    )


def linear(inputs, kernel, bias, contracted_axes: int):
    """``einsum`` of ``inputs`` (..., c1..ck) with ``kernel`` (c1..ck, o1..om) plus
    ``bias`` (o1..om or None), as one matrix multiply with the bias fused.

    Args:
        inputs: Tensor whose last ``contracted_axes`` axes are contracted.
        kernel: Tensor whose first ``contracted_axes`` axes are contracted.
        bias: Bias of the kernel's output shape, or None.
        contracted_axes: How many axes are contracted.

    Returns:
        ``inputs.shape[:-contracted_axes] + kernel.shape[contracted_axes:]``.
    """
    contracted = math.prod(kernel.shape[:contracted_axes])
    out_dims = tuple(kernel.shape[contracted_axes:])
    if contracted_axes > 1:
        inputs = inputs.flatten(-contracted_axes)
    weight = kernel.reshape(contracted, -1).t()
    output = F.linear(inputs, weight, None if bias is None else bias.reshape(-1))
    return output.unflatten(-1, out_dims) if len(out_dims) != 1 else output


def scaled_dot_product_attention(query, key, value, mask, *, scale, flash_attention):
    """Attention of (B, T, heads, dim) query on (B, S, kv_heads, dim) key and value.

    Args:
        query: Projected query (B, T, H, K).
        key: Projected key (B, S, Hkv, K); H must be a multiple of Hkv.
        value: Projected value (B, S, Hkv, V).
        mask: Boolean mask (True = attend) broadcasting to (B, H, T, S), a NumPy array
            or tensor, or None. Masked logits get a large negative additive bias, as
            Keras's op does, so a fully masked row averages (the caller zeroes it).
        scale: Factor on the logits.
        flash_attention: True to require torch's flash kernel (it raises where it cannot
            run); otherwise torch picks its kernel.

    Returns:
        (B, T, H, V).
    """
    q, k, v = (x.transpose(1, 2) for x in (query, key, value))
    bias = None
    if mask is not None:
        mask = torch.as_tensor(mask).to(device=q.device, dtype=torch.bool)
        bias = torch.where(mask, 0.0, -0.7 * torch.finfo(q.dtype).max).to(q.dtype)
    kwargs = dict(attn_mask=bias, scale=scale)
    if q.shape[1] != k.shape[1]:
        if _SHARES_KV_HEADS:
            kwargs["enable_gqa"] = True
        else:  # torch < 2.5: repeat each key/value head for its group of query heads
            group = q.shape[1] // k.shape[1]
            k, v = (x.repeat_interleave(group, dim=1) for x in (k, v))
    if flash_attention:
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
            output = F.scaled_dot_product_attention(q, k, v, **kwargs)
    else:
        output = F.scaled_dot_product_attention(q, k, v, **kwargs)
    return output.transpose(1, 2)
