#!/bin/bash
# `train echo-clip-ef` on the GPU machine: each run (config x seed) x (4 folds by clip + all clips), all at once,
# then per config and fold the soup of its seeds (lab/training/soup.py). Reads the pack of
# lab/training/echo_clip_ef_pack.py (folder P, default .gpu); lab/notes/echo_clip_ef.md has the figures.
# usage (repo root): bash lab/training/echo_clip_ef_gpu.sh STEPS DEADLINE_S OUT [RUN ...]
#   RUN = config:ef_weight:seed[:area_weight[:geometry[:camus_pairs[:pseudo_weight]]]] (default: ef weight 1.0 and 0.3, seeds 0-2, no
#   area term); camus_pairs adds --camus-ef-pairs: CAMUS training ED/ES pairs in the EF loss beside the clips' beats;
#   area_weight adds --area-weight: the relative LV area of the CAMUS and phantom frames held to their truth while
#   the clips' EF pulls (the systolic shrink the phantoms showed, lab/notes/echo_clip_ef.md); geometry adds
#   --phantom-geometry (fixed or varied); pseudo_weight adds --pseudo-weight: the training clips' frames labelled by
#   a mean teacher (lab/training/mean_teacher.py). OUT gets the soups' U-Nets (weights only) and results.tgz: the logs, with
#   VOLUMES=N `evaluate volumes --cases N` of each config's all-clips soup (phantoms, exact truth), with LARGE=1 its
#   `analyze` of the 217-frame phantom at real resolution (benchmarks/pipeline.py's clip, truth EF 58.3 %)
set -u
STEPS=$1; DEADLINE=$2; OUTDIR=$3; shift 3
RUNS=("$@"); [ ${#RUNS[@]} -gt 0 ] || RUNS=(w1:1.0:0 w1:1.0:1 w1:1.0:2 w03:0.3:0 w03:0.3:1 w03:0.3:2)
PY=${PY:-python3}; P=${P:-.gpu}
W=${W:-/tmp/w}; mkdir -p $W/ckpt/echo_seg_temporal $OUTDIR
cp $P/phantom_*.npz $W/ckpt/echo_seg_temporal/
export CARDIOTRACE_CHECKPOINTS_DIR=$W/ckpt OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONUNBUFFERED=1
mk_root() {  # every shipped model linked, echo_seg_base = the pre-fine-tune U-Net (57a8179) with its lab record
  mkdir -p $1/models $1/lab/notes
  for m in models/*; do n=$(basename $m); [ "$n" = echo_seg_base ] || ln -sfn $PWD/$m $1/models/$n; done
  cp -r $P/init/models/echo_seg_base $1/models/
  cp $P/init/lab/notes/echo_seg_base.json $1/lab/notes/
}
names=(); cfgs=()
for spec in "${RUNS[@]}"; do
  IFS=: read -r cfg w seed area geom pairs pseudo <<< "$spec"; cfgs+=($cfg)
  for fold in 0 1 2 3 all; do
    name=${cfg}s${seed}_f$fold; R=$W/$name; mk_root $R; names+=($name)
    extra=(); [ $fold = all ] || extra=(--fold $fold/4)
    [ -n "${area:-}" ] && extra+=(--area-weight $area)
    [ -n "${geom:-}" ] && extra+=(--phantom-geometry $geom)
    [ -n "${pairs:-}" ] && [ "$pairs" != 0 ] && extra+=(--camus-ef-pairs $pairs)
    [ -n "${pseudo:-}" ] && extra+=(--pseudo-weight $pseudo)
    timeout $DEADLINE $PY -m app train echo-clip-ef --data $P/data/camus_a4c --clips $P/data/echonet_clips \
      --events $P/events.json --clip-cache $P/beats.npz --init-from echo_seg_base --models-root $R/models \
      --run $name --steps $STEPS --batch 12 --clips-per-step 4 --lr 2e-4 --ef-weight $w --seed $seed \
      --phantom-clips 24 --phantom-views a4c,a2c,a3c --phantom-seed 7 --phantom-fraction 0.35 \
      --clinical-augment 0.5 --boundary-weight 0.05 --threads 1 --no-bf16 "${extra[@]}" > $W/$name.log 2>&1 &
  done
done
wait
# soups: per config and fold, the average of its seeds (lab/training/soup.py); back: soups and seed 0's U-Nets
back=()
for cfg in $(printf "%s\n" "${cfgs[@]}" | sort -u); do
  for fold in 0 1 2 3 all; do
    members=(); for d in $W/${cfg}s*_f$fold; do grep -q "published the last step" $d.log && members+=($d/models); done
    S=$W/soup_${cfg}_f$fold
    [ ${#members[@]} -ge 2 ] && { $PY -m lab.training.soup --data $P/data/camus_a4c --out $S/models "${members[@]}" > $S.log 2>&1
      cp ${members[0]}/echo_clip_ef_heldout.txt $S/models/ 2>/dev/null; tail -1 $S.log; } &
    back+=(soup_${cfg}_f$fold)
  done
done
wait
if [ "${VOLUMES:-0}" -gt 0 ]; then  # the phantoms' EF bias of each config's candidate, beside the clips' CV
  for cfg in $(printf "%s\n" "${cfgs[@]}" | sort -u); do
    S=$W/soup_${cfg}_fall; [ -f $S/models/echo_seg_base/model.pt ] || S=$W/${cfg}s0_fall
    CARDIOTRACE_MODELS_DIR=$S/models timeout $DEADLINE $PY -m app evaluate volumes --cases $VOLUMES --segmenter base \
      --threads 1 --json $W/volumes_${cfg}.json > $W/volumes_${cfg}.log 2>&1 &
  done
  wait
fi
if [ "${LARGE:-0}" -gt 0 ]; then  # the large phantom the session-38 candidates read 5-8 points high
  $PY -m app phantom --modality echo --view a4c --hr 61 --beats 4 --fps 55 --size 454x487 --depth 141 --sector 64 \
    --seed 3 --no-truth --out $W/large.dcm > /dev/null
  for cfg in $(printf "%s\n" "${cfgs[@]}" | sort -u) shipped; do
    S=$W/soup_${cfg}_fall; [ $cfg = shipped ] && { S=$W/shipped; mkdir -p $S; ln -sfn $PWD/models $S/models; }
    CARDIOTRACE_MODELS_DIR=$S/models timeout $DEADLINE $PY -m app analyze $W/large.dcm --view a4c --no-strain \
      --json $W/large_${cfg}.json > $W/large_${cfg}.log 2>&1 &
  done
  wait
fi
i=0; batch=()
pack() { [ ${#batch[@]} -gt 0 ] && tar -C $W -cf $OUTDIR/models_$i.tar "${batch[@]}"; i=$((i+1)); batch=(); }
for name in "${back[@]}"; do
  if [ -f $W/$name/models/echo_seg_base/model.pt ] && { [ ! -f $W/$name.log ] || grep -q "published" $W/$name.log; }; then
    batch+=($name/models/echo_seg_base/model.pt $name/models/echo_seg_base/metadata.json $name/lab/notes)
    [ -f $W/$name/models/echo_clip_ef_heldout.txt ] && batch+=($name/models/echo_clip_ef_heldout.txt)
    [ ${#batch[@]} -ge 13 ] && pack
  else echo "$name: not published"; fi
done
pack
tar -C $W -czf $OUTDIR/results.tgz $(cd $W && ls *.log volumes_*.json large_*.json 2>/dev/null)
for name in "${names[@]}"; do echo "$name: $(grep -c 'EF loss' $W/$name.log) EF logs; $(grep 's/step' $W/$name.log | tail -1)"; done
