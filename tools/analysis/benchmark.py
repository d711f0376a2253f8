"""Speed and memory of mmvmae next to Hugging Face transformers' VideoMAE.

Both models run in this process on the same batch, alternating round by
round, so the mmvmae/HF ratios hold even on a busy machine (time/HF is the
median of the per-round ratios, ``rounds`` their lowest and highest).
Reported per variant (medians over rounds): clips/s, peak memory of one
step, counted FLOPs, achieved FLOP/s and its ratio to this machine's
large-matmul rate (model FLOPs utilisation on a GPU).

Methods:
- FLOPs: ``torch.utils.flop_counter.FlopCounterMode`` on one step (matrix
  products, convolutions and attention, forward and backward; the CPU
  attention kernel is added to its table), counted without activation
  checkpointing and without the attention backward's recomputation of the
  scores, which torch's formula counts (model FLOPs: recomputation is not
  useful work); ``FLOP/HF`` compares what the kernels execute, the
  recomputation included. Elementwise ops and the optimizer are not
  counted. The matmul rate: the best of a few n^3 matmuls in the run's
  dtype (n = 2048 on a CPU, 8192 on a GPU), before and after the rounds.
- Peak memory: on CUDA ``max_memory_allocated``; on CPU the profiler's
  allocation and free events (``profile_memory=True``, matched by address):
  the peak of the bytes allocated within the step and still live. Both
  count tensors only (not the allocator's cache or Python objects).
  ``step peak`` = the most the step adds above the state it starts from
  (weights and optimizer moments; gradients are freed before each step, so
  they count); ``state`` is that starting state; the total peak is their
  sum.
- ``FLOP/HF``: the FLOPs the kernels execute over HF's. Both models call
  the same PyTorch kernels, so at the same rate time/HF equals it: the
  floor for the same kernels, which only less work lowers.
- ``--profile N`` (CPU): ``torch.profiler`` over N more steps of every
  variant; the self CPU time by kind of aten op (``TIME_SHARES``), and the
  page faults per step with and without the profiler (its allocations can
  make a step touch fresh pages, which slows the memory-bound ops).
- CPU allocator: glibc is told to keep freed blocks for reuse (``--malloc
  keep``, the default; ``mmvmae.utils.malloc``), for both models, so
  that page faults of the allocator do not decide the ratios.

Example (the numbers in docs/performance.md; variants combine with '+'):
    python tools/analysis/benchmark.py --arch base --task pretrain --batch 2 \
        --rounds 7 --variants plain,dual,lean,cp-selective,cp-full,\
step-in-backward,lean+step-in-backward,cp-full+step-in-backward
"""
import argparse
import json
import resource
import statistics
import sys
import time
from typing import Callable, Dict, List, Tuple

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import (FlopCounterMode, sdpa_backward_flop,
                                      sdpa_flop)

import mmvmae  # noqa: F401  (before transformers / mmaction)
from mmvmae.engine.optimizers import StepInBackwardOptimWrapper
from mmvmae.models.backbones.videomae_vit import ARCH_SETTINGS
from mmvmae.models.necks.videomae_decoder import DECODER_PRESETS
from mmvmae.registry import MODELS
from mmvmae.utils.malloc import keep_freed_memory

# 'tiny' is for smoke runs of this script only
ARCHS = dict(ARCH_SETTINGS, tiny=dict(embed_dims=64, depth=2, num_heads=2,
                                      mlp_ratio=4., patch_size=16))
DECODERS = dict(DECODER_PRESETS, tiny=dict(in_channels=64, embed_dims=32,
                                           num_heads=2, depth=1))
# mmvmae options per variant name (one model, attributes switched per run)
VARIANTS = {
    'plain': dict(),
    'dual': dict(dual=True),
    'cp-selective': dict(with_cp='selective'),
    'cp-full': dict(with_cp=True),
    'eager': dict(attn_impl='eager'),
    'lean': dict(lean_activations=True),
    # StepInBackwardOptimWrapper: each weight updated (and its gradient
    # freed) as soon as its gradient exists
    'step-in-backward': dict(step_in_backward=True),
    # torch.compile of the model (--compile-backend; mmengine's `compile`)
    'compile': dict(compile=True),
}
# options that change memory or time but not the model FLOPs
NOT_MATH = ('with_cp', 'step_in_backward', 'lean_activations', 'compile')
_aten = torch.ops.aten


def _attention_backward_flops(grad, q, k, v, *args, out_val=None, **kw):
    """Model FLOPs of attention's backward: 4 products (dV, dP, dQ, dK),
    twice the forward. torch's formula counts a fifth, the kernels'
    recomputation of the scores, which is not model work."""
    return 2 * sdpa_flop(q, k, v)


# what the kernels execute: torch's table plus the CPU kernels it lacks
KERNEL_SDPA = {
    _aten._scaled_dot_product_flash_attention_for_cpu:
    lambda q, k, v, *a, out_val=None, **kw: sdpa_flop(q, k, v),
    _aten._scaled_dot_product_flash_attention_for_cpu_backward:
    lambda g, q, k, v, *a, out_val=None, **kw: sdpa_backward_flop(
        g, q, k, v),
}
# model FLOPs: every attention backward without the recomputed scores
MODEL_SDPA = {**KERNEL_SDPA, **{
    getattr(_aten, name): _attention_backward_flops for name in (
        '_scaled_dot_product_flash_attention_for_cpu_backward',
        '_scaled_dot_product_flash_attention_backward',
        '_scaled_dot_product_efficient_attention_backward',
        '_scaled_dot_product_cudnn_attention_backward')
    if hasattr(_aten, name)}}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--arch', default='base', choices=sorted(ARCHS))
    p.add_argument('--task', default='pretrain',
                   choices=('pretrain', 'finetune', 'inference'))
    p.add_argument('--batch', type=int, default=2)
    p.add_argument('--frames', type=int, default=16)
    p.add_argument('--size', type=int, default=224)
    p.add_argument('--mask-ratio', type=float, default=0.9)
    p.add_argument('--variants', default='plain',
                   help=f'comma list of mmvmae variants {sorted(VARIANTS)}, '
                   'combined with "+" (e.g. cp-full+step-in-backward); dual '
                   'is for --task pretrain')
    p.add_argument('--no-hf', action='store_true', help='mmvmae only')
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--iters', type=int, default=1, help='steps per round')
    p.add_argument('--device', default='cuda' if torch.cuda.is_available()
                   else 'cpu')
    p.add_argument('--dtype', default='fp32', choices=('fp32', 'bf16'))
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--compile-backend', default='inductor',
                   help='torch.compile backend of the compile variant '
                   '(inductor: the default, generates code on first use)')
    p.add_argument('--peak-tflops', type=float,
                   help="the device's datasheet peak in the run's dtype "
                        '(e.g. 989 for bf16 on an H200 SXM): adds model FLOPs '
                        'utilisation against it (MFU)')
    p.add_argument('--profile', type=int, default=0, metavar='N',
                   help='CPU: also profile N steps of every variant and '
                   'print where the time goes (shares of self CPU time)')
    p.add_argument('--json', help='also write the results here')
    p.add_argument('--malloc', default='keep', choices=('keep', 'default'),
                   help="CPU: 'keep' (default) makes glibc keep freed memory "
                   "for reuse, for both models (mmvmae.utils.malloc)")
    args = p.parse_args()
    if args.rounds < 1 or args.iters < 1:
        p.error('--rounds and --iters must be >= 1')
    args.variants = args.variants.split(',')
    bad = [part for v in args.variants for part in v.split('+')
           if part not in VARIANTS]
    if bad:
        p.error(f'unknown variants {bad}; choose from {sorted(VARIANTS)}')
    # whether any variant compiles the model
    args.compile = any('compile' in variant_options(v)
                       for v in args.variants)
    if args.compile:
        from torch._dynamo import list_backends
        backends = list_backends(exclude_tags=())
        if args.compile_backend not in backends:
            p.error(f'--compile-backend {args.compile_backend}: choose from '
                    f'{backends}')
    if args.profile and args.device != 'cpu':
        p.error('--profile: CPU only (on a GPU, use torch.profiler traces)')
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        p.error(f'--device {args.device}: no CUDA device is available '
                f'(torch {torch.__version__})')
    return args


def variant_options(name: str) -> dict:
    """The mmvmae options of ``name`` (parts joined by '+')."""
    opts = {}
    for part in name.split('+'):
        opts.update(VARIANTS[part])
    return opts


def tube_mask(args, grid, gen) -> torch.Tensor:
    """(B, N) bool tube mask, True = hidden."""
    t, h, w = grid
    n_vis = int(round(h * w * (1 - args.mask_ratio)))
    masks = []
    for _ in range(args.batch):
        spatial = torch.ones(h * w, dtype=torch.bool)
        spatial[torch.randperm(h * w, generator=gen)[:n_vis]] = False
        masks.append(spatial.repeat(t))
    return torch.stack(masks)


def running_cell_mask(args, grid, gen) -> torch.Tensor:
    """(B, N) decoder mask, True = dropped: 2 of every 2x2 cell, shifting
    with the temporal slot (ratio 0.5)."""
    t, h, w = grid
    patterns = torch.tensor([[0, 1, 1, 0], [1, 0, 0, 1], [0, 1, 1, 0],
                             [1, 0, 0, 1]], dtype=torch.bool)
    out = []
    for _ in range(args.batch):
        phase = int(torch.randint(4, (1, ), generator=gen))
        slots = []
        for i in range(t):
            cell = patterns[(phase + i) % 4].view(2, 2)
            slots.append(cell.repeat(h // 2 + 1, w // 2 + 1)[:h, :w])
        out.append(torch.stack(slots).flatten())
    return torch.stack(out)


def build_mmvmae(args, grid):
    arch = ARCHS[args.arch]
    n = grid[0] * grid[1] * grid[2]
    common = dict(img_size=args.size, num_frames=args.frames,
                  arch={k: arch[k] for k in ('embed_dims', 'depth',
                                             'num_heads', 'mlp_ratio',
                                             'patch_size')})
    if args.task == 'pretrain':
        return MODELS.build(dict(
            type='VideoMAE', backbone=dict(type='VideoMAEViT', **common),
            neck=dict(type='VideoMAEDecoder', num_tokens=n,
                      **DECODERS[args.arch]),
            head=dict(type='VideoMAEPretrainHead', norm_pix=True)))
    backbone = MODELS.build(dict(type='VideoMAEViT', out_type='avg',
                                 **common))
    head = MODELS.build(dict(type='VideoMAEClsHead', num_classes=400,
                             in_channels=arch['embed_dims']))
    return torch.nn.Sequential(backbone, head)


def build_hf(args):
    from transformers import (VideoMAEConfig, VideoMAEForPreTraining,
                              VideoMAEForVideoClassification)
    arch, dec = ARCHS[args.arch], DECODERS[args.arch]
    cfg = VideoMAEConfig(
        image_size=args.size, patch_size=arch['patch_size'],
        num_frames=args.frames, tubelet_size=2,
        hidden_size=arch['embed_dims'], num_hidden_layers=arch['depth'],
        num_attention_heads=arch['num_heads'],
        intermediate_size=int(arch['embed_dims'] * arch['mlp_ratio']),
        decoder_hidden_size=dec['embed_dims'],
        decoder_num_hidden_layers=dec['depth'],
        decoder_num_attention_heads=dec['num_heads'],
        decoder_intermediate_size=dec['embed_dims'] * 4, qkv_bias=True,
        norm_pix_loss=True, layer_norm_eps=1e-6, num_labels=400,
        use_mean_pooling=args.task != 'pretrain',
        attn_implementation='sdpa')
    cls = VideoMAEForPreTraining if args.task == 'pretrain' \
        else VideoMAEForVideoClassification
    return cls(cfg)


def make_step(args, optim, run: Callable, kept: list,
              wrapper=None) -> Tuple[Callable, Callable]:
    """One step: forward (+ backward + optimizer step when training), and
    the training forward alone, its loss appended to ``kept``. With a
    ``StepInBackwardOptimWrapper`` the optimizer steps inside backward."""
    # autocast takes a device type ('cuda'), not a device ('cuda:0')
    autocast = torch.autocast(torch.device(args.device).type,
                              dtype=torch.bfloat16,
                              enabled=args.dtype == 'bf16')
    if args.task == 'inference':
        def step():
            with torch.inference_mode(), autocast:
                run()
        return step, step

    def step():
        optim.zero_grad(set_to_none=True)
        with autocast:
            loss = run()
        if wrapper is not None:
            wrapper.backward(loss)
            return
        loss.backward()
        optim.step()

    def forward():
        optim.zero_grad(set_to_none=True)
        with autocast:
            kept.append(run())
    return step, forward


def sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def memory(fn: Callable, device: str, optim=None) -> Tuple[int, int]:
    """Tensor bytes ``fn`` adds above its starting state (``optim``'s
    gradients freed first): at its peak and still live at its end."""
    if optim is not None:  # else CUDA's start would hold the last grads
        optim.zero_grad(set_to_none=True)
    if device.startswith('cuda'):
        sync(device)
        start = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        fn()
        sync(device)
        return (torch.cuda.max_memory_allocated() - start,
                torch.cuda.memory_allocated() - start)
    from torch._C._profiler import _EventType
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as p:
        fn()
    todo = list(p.profiler.kineto_results.experimental_event_tree())
    events = []
    while todo:
        node = todo.pop()
        todo.extend(node.children)
        if node.tag == _EventType.Allocation and \
                node.extra_fields.device.type == 'cpu':
            f = node.extra_fields
            events.append((node.start_time_ns, f.ptr, f.alloc_size))
    # count only blocks allocated within the step: the allocator's running
    # total also sees frees of older blocks, sometimes with stale sizes
    live: Dict[int, int] = {}
    now = peak = 0
    for _, ptr, size in sorted(events):
        if size > 0:
            live[ptr] = size
            now += size
            peak = max(peak, now)
        elif ptr in live:
            now -= live.pop(ptr)
    return peak, now


def state_bytes(model, optim) -> int:
    tensors = list(model.parameters()) + list(model.buffers())
    if optim is not None:
        for s in optim.state.values():
            tensors += [v for v in s.values() if torch.is_tensor(v)]
    return sum(t.numel() * t.element_size() for t in tensors)


def count_flops(step: Callable, mapping: dict) -> int:
    with FlopCounterMode(display=False, custom_mapping=mapping) as counter:
        step()
    return counter.get_total_flops()


# --profile: profiler op names -> share of the step (self CPU time; the
# first match wins, the rest is 'other')
TIME_SHARES = (
    ('matrix products', ('aten::mm', 'aten::addmm', 'aten::bmm',
                         'aten::baddbmm', 'aten::convolution')),
    ('attention backward', ('attention_for_cpu_backward', )),
    ('attention forward', ('attention_for_cpu', )),
    ('optimizer', ('adam', )),
    ('GELU', ('gelu', )),
    ('LayerNorm', ('layer_norm', )),
)


def time_shares(step: Callable,
                steps: int) -> Tuple[Dict[str, float], float]:
    """Shares of the self CPU time of ``steps`` steps, by ``TIME_SHARES``:
    ``aten::`` names match exactly, the others as parts of the op name; and
    the page faults per profiled step (the profiler's own
    allocations scatter the heap, so the step touches fresh pages that it
    does not touch unprofiled: compare with the timed steps' faults)."""
    faults = page_faults()
    with profile(activities=[ProfilerActivity.CPU]) as p:
        for _ in range(steps):
            step()
    faults = (page_faults() - faults) / steps
    totals = {name: 0. for name, _ in TIME_SHARES}
    totals['other'] = 0.
    for event in p.key_averages():
        name = next((share for share, keys in TIME_SHARES
                     if any(event.key == k if k.startswith('aten::') else
                            k in event.key for k in keys)), 'other')
        totals[name] += event.self_cpu_time_total
    total = sum(totals.values()) or 1.
    return {name: value / total for name, value in totals.items()}, faults


def progress(message: str) -> None:
    """Progress on stderr (stdout keeps the table)."""
    print(message, file=sys.stderr, flush=True)


def matmul_rate(device: str, dtype: torch.dtype) -> float:
    """FLOP/s of the best of a few n^3 matmuls: n = 2048 on a CPU, 8192 on a
    GPU (a 2048^3 product takes tens of microseconds there, too short to
    reach the GPU's rate)."""
    n = 2048 if device == 'cpu' else 8192
    a = torch.randn(n, n, device=device, dtype=dtype)
    best = float('inf')
    for _ in range(4):
        sync(device)
        t = time.perf_counter()
        a @ a
        sync(device)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best


class Runner:
    """One benchmarked variant: its step, FLOPs and memory."""

    def __init__(self, name: str, steps: Tuple[Callable, Callable],
                 prepare: Callable, model, optim, math: str) -> None:
        self.name, self.prepare = name, prepare
        self._step, self.forward = steps
        self.math = math  # variants with the same math share FLOPs
        self.model, self.optim = model, optim
        self.times: List[float] = []
        self.faults: List[float] = []  # page faults per step (this process)

    def step(self) -> None:
        self.prepare()
        self._step()

    def timed(self, device: str, iters: int) -> None:
        self.prepare()
        sync(device)
        faults, t = page_faults(), time.perf_counter()
        for _ in range(iters):
            self._step()
        sync(device)
        self.times.append((time.perf_counter() - t) / iters)
        self.faults.append((page_faults() - faults) / iters)


def page_faults() -> int:
    """Page faults of this process so far (each touch of a fresh page of
    memory: the kernel maps and zeroes it)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def setup(args) -> List[Runner]:
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    device, patch = args.device, ARCHS[args.arch]['patch_size']
    grid = (args.frames // 2, args.size // patch, args.size // patch)
    video = torch.randn(args.batch, 3, args.frames, args.size, args.size,
                        generator=gen).to(device)
    labels = torch.randint(400, (args.batch, ), generator=gen).to(device)
    mask = tube_mask(args, grid, gen).to(device)
    dmask = running_cell_mask(args, grid, gen).to(device)
    train = args.task != 'inference'

    def optimizer(model):
        if not train:
            return None
        return torch.optim.AdamW(model.parameters(), lr=1e-4,
                                 betas=(0.9, 0.95), weight_decay=0.05,
                                 fused=True)

    kept = []  # losses of forward-only runs (their graphs = activations)
    ours = build_mmvmae(args, grid).to(device).train(train)
    # one compiled wrapper for every compile variant (dynamo recompiles when
    # prepare() switches the blocks' attributes)
    compiled = torch.compile(ours, backend=args.compile_backend) \
        if args.compile else None
    model = dict(now=ours)  # the module the runs call
    ours_optim = optimizer(ours)
    # hooks on the weights, active only inside its own backward
    in_backward = StepInBackwardOptimWrapper(ours_optim) if train else None
    runners = []
    for name in args.variants:
        opts = variant_options(name)
        if args.task != 'pretrain' and 'dual' in opts:
            raise SystemExit(f'variant {name} is for --task pretrain')
        if not train and 'step_in_backward' in opts:
            raise SystemExit(f'variant {name} needs a training task')

        def prepare(opts=opts, counting=False):
            # counting FLOPs: without checkpointing's recomputation and
            # eagerly (compiled kernels bypass FlopCounterMode)
            model['now'] = compiled if opts.get('compile') and \
                not counting else ours
            for m in ours.modules():
                if hasattr(m, 'with_cp'):
                    m.with_cp = False if counting else opts.get('with_cp',
                                                                False)
                if hasattr(m, 'lean_activations'):
                    m.lean_activations = opts.get('lean_activations', False)
                if hasattr(m, 'attn_impl'):
                    m.attn_impl = opts.get('attn_impl', 'sdpa')

        if args.task == 'pretrain':
            samples = [_sample(mask[i], dmask[i] if opts.get('dual') else
                               None) for i in range(args.batch)]

            def run(samples=samples):
                return model['now'](video, samples, mode='loss')['loss']
        else:
            def run():
                logits = model['now'](video)
                return F.cross_entropy(logits.float(), labels) if train \
                    else logits
        wrapper = in_backward if opts.get('step_in_backward') else None
        runners.append(Runner(f'mmvmae {name}',
                              make_step(args, ours_optim, run, kept, wrapper),
                              prepare, ours, ours_optim,
                              str(sorted((k, v) for k, v in opts.items()
                                         if k not in NOT_MATH))))
    if not args.no_hf:
        hf = build_hf(args).to(device).train(train)
        hf_optim = optimizer(hf)
        hf_video = video.transpose(1, 2).contiguous()  # (B, T, C, H, W)
        if args.task == 'pretrain':
            def run():
                return hf(pixel_values=hf_video, bool_masked_pos=mask).loss
        else:
            def run():
                out = hf(pixel_values=hf_video,
                         labels=labels if train else None)
                return out.loss if train else out.logits
        runners.append(Runner('HF transformers',
                              make_step(args, hf_optim, run, kept),
                              lambda counting=False: None, hf, hf_optim,
                              'hf'))
    return runners, kept


def _sample(mask, dmask):
    from mmaction.structures import ActionDataSample
    sample = ActionDataSample()
    sample.set_field(mask.cpu(), 'mask')
    if dmask is not None:
        sample.set_field(dmask.cpu(), 'decoder_mask')
    return sample


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith('cuda'):
        # synchronize() and the memory stats act on the current device
        torch.cuda.set_device(torch.device(args.device))
    args.malloc_kept = args.device == 'cpu' and args.malloc == 'keep' and \
        keep_freed_memory()
    dtype = torch.bfloat16 if args.dtype == 'bf16' else torch.float32
    runners, kept = setup(args)
    progress(f'warm-up: {len(runners)} runs')
    for r in runners:  # warm-up (creates the optimizer state)
        r.step()
    rates = [matmul_rate(args.device, dtype)]
    for k in range(args.rounds):  # alternating rounds
        for r in runners:
            r.timed(args.device, args.iters)
        progress(f'round {k + 1}/{args.rounds}: ' + ', '.join(
            f'{r.name} {r.times[-1]:.3f} s' for r in runners))
    rates.append(matmul_rate(args.device, dtype))
    progress('counting FLOPs and memory')
    rate = max(rates)
    load = open('/proc/loadavg').read().split()[0] \
        if args.device == 'cpu' else '-'
    results: Dict[str, dict] = {}
    flop_cache: Dict[str, int] = {}
    for r in runners:
        if r.math not in flop_cache:
            # model FLOPs: without checkpointing's recomputation
            r.prepare(counting=True)
            flop_cache[r.math] = (count_flops(r._step, MODEL_SDPA),
                                  count_flops(r._step, KERNEL_SDPA))
        flops, kernel_flops = flop_cache[r.math]
        r.prepare()
        peak = memory(r._step, args.device, r.optim)[0]
        # saved activations: what the training forward leaves for backward
        act = memory(r.forward, args.device, r.optim)[1] \
            if args.task != 'inference' else None
        kept.clear()
        shares, profiled_faults = time_shares(r._step, args.profile) \
            if args.profile else (None, None)
        sec = statistics.median(r.times)
        results[r.name] = dict(
            s_per_step=sec, clips_per_s=args.batch / sec,
            step_peak_mib=peak / 2**20,
            activations_mib=None if act is None else act / 2**20,
            state_mib=state_bytes(r.model, r.optim) / 2**20,
            gflop_per_step=flops / 1e9, gflop_per_s=flops / sec / 1e9,
            kernel_gflop_per_step=kernel_flops / 1e9,
            matmul_fraction=flops / sec / rate,
            mfu=flops / sec / (args.peak_tflops * 1e12)
            if args.peak_tflops else None,
            times=r.times, faults_per_step=statistics.median(r.faults),
            time_shares=shares, profiled_faults_per_step=profiled_faults)
    report(args, results, rate, load)
    if args.profile:
        report_shares(args, results)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(args=vars(args), matmul_gflops=rate / 1e9,
                           load=load, results=results), f, indent=2)


def report(args, results: Dict[str, dict], rate: float, load: str) -> None:
    print(f'{args.task} {args.arch} {args.frames}x{args.size} batch '
          f'{args.batch}, {args.device} {args.dtype}, '
          f'{torch.get_num_threads()} threads, torch {torch.__version__}; '
          f'{args.rounds} alternating rounds x {args.iters} steps, medians; '
          f'load average {load}; matmul rate {rate / 1e9:.0f} GFLOP/s; '
          f'freed memory kept by malloc: {args.malloc_kept}')
    hf = results.get('HF transformers')
    cols = [('s/step', 's_per_step', '.3f'), ('clips/s', 'clips_per_s', '.2f'),
            ('step peak MiB', 'step_peak_mib', '.0f'),
            ('activ. MiB', 'activations_mib', '.0f'),
            ('state MiB', 'state_mib', '.0f'),
            ('GFLOP', 'gflop_per_step', '.4g'),
            ('GFLOP/s', 'gflop_per_s', '.4g'),
            ('of matmul', 'matmul_fraction', '.0%')]
    if args.peak_tflops:
        cols.append(('MFU', 'mfu', '.0%'))
    ratios = [('time/HF', 's_per_step'), ('rounds', 'rounds'),
              ('FLOP/HF', 'kernel_gflop_per_step'),
              ('peak/HF', 'step_peak_mib'),
              ('activ./HF', 'activations_mib')] if hf else []
    def width(title):  # a value never runs into the next column
        return max(len(title), 8) + 2

    print(f'{"variant":<40}' + ''.join(f'{c[0]:>{width(c[0])}}'
                                       for c in cols + ratios))
    for name, r in results.items():
        line = f'{name:<40}' + ''.join(
            f'{r[key]:>{width(title)}{fmt}}' if r[key] is not None else
            f'{"-":>{width(title)}}' for title, key, fmt in cols)
        # a slow spell slows its round alike: per-round time ratios
        per_round = [a / b for a, b in zip(r['times'], hf['times'])] \
            if hf else []
        for title, key in ratios:
            if key == 'rounds':  # how much the rounds disagree
                span = f'{min(per_round):.2f}-{max(per_round):.2f}'
                line += f'{span:>{width(title)}}'
                continue
            if r[key] is None:  # inference: no activations kept
                line += f'{"-":>{width(title)}}'
                continue
            ratio = statistics.median(per_round) if key == 's_per_step' \
                else r[key] / max(hf[key], 1e-9)
            line += f'{ratio:>{width(title)}.2f}'
        print(line)
    print('step peak: the most tensor memory a step (forward, backward, '
          'optimizer) adds above its start, gradients included; activ.: '
          'what the training forward leaves for the backward; state: '
          'weights + optimizer moments (total peak = state + step peak). '
          'CPU: profiler allocation/free events; CUDA: torch.cuda memory '
          'stats. FLOPs: FlopCounterMode (matmul, conv, attention), '
          'model FLOPs (no recomputation). time/HF: median of the '
          'per-round ratios; rounds: their lowest and highest; FLOP/HF: '
          'the FLOPs the kernels execute (the attention backward '
          'recomputes its scores) over HF\'s: the time/HF that the same '
          'kernels at the same rate give (both models call the same '
          'PyTorch kernels: less time needs less work).')


def report_shares(args, results: Dict[str, dict]) -> None:
    names = list(next(iter(results.values()))['time_shares'])
    faults = ('page faults/step timed', 'profiled')
    print(f'\nwhere the time goes: shares of the self CPU time of '
          f'{args.profile} profiled steps (torch.profiler, by aten op)')
    print(f'{"variant":<40}' + ''.join(f'{n:>{max(len(n), 6) + 2}}'
                                       for n in names + list(faults)))
    for variant, r in results.items():
        print(f'{variant:<40}' + ''.join(
            f'{r["time_shares"][n]:>{max(len(n), 6) + 2}.1%}'
            for n in names) +
            f'{r["faults_per_step"]:>{len(faults[0]) + 2}.0f}'
            f'{r["profiled_faults_per_step"]:>{len(faults[1]) + 2}.0f}')
    print('Under the profiler a step can touch many more fresh pages than '
          'unprofiled (its own allocations scatter the heap), which slows '
          'the memory-bound ops it measures: where the profiled faults are '
          'far above the timed ones, read the shares as rough.')


if __name__ == '__main__':
    main()
