#!/usr/bin/env bash
# Data-efficiency benchmark: does VideoMAE pretraining pay off on a small
# motion data set? (docs/data_efficiency.md)
#
#   bash tools/benchmarks/data_efficiency.sh [GROUP ...]
#
# GROUPs, run in the order given (default: data pretrained scratch collect):
#   data        generate data/motion_benchmark (6 motion classes, 2400 train /
#               300 val / 600 test clips of 12 frames at 32x40; about 30 s)
#   pretrained  VideoMAE pretraining (tube mask 0.75) on the unlabeled train
#               clips, then fine-tuning on 100% and 10% of the labels
#   scratch     the same ViT and fine-tuning budget from a random init
#   ablation    pretraining with tube mask 0.5 and 0.9, each fine-tuned on 100%
#   collect     print the results table and copy the logs to
#               docs/data_efficiency/logs/<run>/
# Every run is tested with 2 clips x 3 crops per test video. A run whose test
# metrics exist is skipped, so an interrupted benchmark resumes. Work dirs:
# $WORK (default work_dirs/data_efficiency). The groups pretrained and scratch
# are independent: on a machine with spare cores, run them in two shells.
# Environment: WORK; ABLATION_RATIOS (default "0.5 0.9"); OMP_NUM_THREADS
# (default 1: this model's matrices are so small that a second thread costs
# more in synchronisation than it gains, and on a busy machine far more).
set -euo pipefail
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
cd "$(dirname "$0")/../.."
CFG=configs/benchmarks/data_efficiency
WORK=${WORK:-work_dirs/data_efficiency}

# train NAME CONFIG [--cfg-options ...]: train, then test the last checkpoint
run() {
    local name=$1 config=$2
    shift 2
    if compgen -G "$WORK/$name/test/*/*.json" > /dev/null; then
        echo "== $name: done, skipped"
        return
    fi
    if [[ -f $WORK/$name/last_checkpoint ]]; then
        echo "== $name: trained, skipped"  # interrupted before its test
    else
        echo "== $name: train ($(date +%T))"
        python tools/train.py "$CFG/$config.py" --work-dir "$WORK/$name" "$@"
    fi
    local ckpt
    ckpt=$(cat "$WORK/$name/last_checkpoint")
    if [[ $config == *pretrain* ]]; then
        return  # pretraining has no test
    fi
    echo "== $name: test $ckpt ($(date +%T))"
    # the weights come from the checkpoint: no pretrained encoder to load
    python tools/test.py "$CFG/$config.py" "$ckpt" \
        --work-dir "$WORK/$name/test" --cfg-options model.backbone.init_cfg=None
}

pretrained_done() {
    [[ -f $WORK/$1/last_checkpoint ]] && echo "== $1: done, skipped"
}

groups=("$@")
[[ ${#groups[@]} -eq 0 ]] && groups=(data pretrained scratch collect)
for group in "${groups[@]}"; do
    case $group in
    data)
        python tools/benchmarks/generate_motion_benchmark.py \
            --out data/motion_benchmark ;;
    pretrained)
        pretrained_done pretrain_mask0.75 ||
            run pretrain_mask0.75 vit-tiny_motion-pretrain_mask0.75
        for labels in 100 10; do
            run finetune_${labels}pct vit-tiny_motion-finetune_${labels}pct \
                --cfg-options \
                model.backbone.init_cfg.checkpoint=$WORK/pretrain_mask0.75
        done ;;
    scratch)
        run scratch_100pct vit-tiny_motion-scratch_100pct
        run scratch_10pct vit-tiny_motion-scratch_10pct ;;
    ablation)
        for ratio in ${ABLATION_RATIOS:-0.5 0.9}; do
            pretrained_done pretrain_mask$ratio ||
                run pretrain_mask$ratio vit-tiny_motion-pretrain_mask$ratio
            run finetune_100pct_mask$ratio vit-tiny_motion-finetune_100pct \
                --cfg-options \
                model.backbone.init_cfg.checkpoint=$WORK/pretrain_mask$ratio
        done ;;
    collect)
        python tools/benchmarks/collect_results.py --work "$WORK" ;;
    *)
        echo "unknown group '$group' (data, pretrained, scratch, ablation," \
            "collect)" >&2
        exit 2 ;;
    esac
done
