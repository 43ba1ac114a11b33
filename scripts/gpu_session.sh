#!/usr/bin/env bash
# Issue #21's GPU measurements in one run for the device tool's machine (one command of at most
# 10 minutes, 15 minutes of device time a session), whose Python lacks Hydra and whose working
# tree lacks ../shared. Prepare here:
#   echo /.whl/ >> .git/info/exclude; echo /.gpu-data/ >> .git/info/exclude
#   pip wheel --no-deps -w .whl hydra-core==1.3.8 omegaconf==2.3.1 antlr4-python3-runtime==4.9.3
#   mkdir -p .gpu-data && cp ../shared/data/multi30k/* .gpu-data/
# then run there, carrying .whl and .gpu-data:  bash scripts/gpu_session.sh "$OUT" [SECONDS] [MINUTES]
#
# Stages, most wanted first, each under `timeout` within SECONDS in all (default 540), so that a
# stage that fails or hangs costs only itself: train the de-en recipe with hardware=gpu for
# MINUTES (default 1; its validations give the time to quality at 16k-token batches, its logged
# rate the real loop's); the loop against its update alone, side by side, collating in turn and
# ahead in a thread, with the loop's time split by part (scripts/loop_overhead.py: the loop ran at
# 194k target tok/s where its update alone ran at 415-492k); the same loop for a few seconds under
# cProfile; the benchmark's training rows of that run (fp32 with and without TF32, auto: which
# precision the probe picks) and its tokens/s curve for 4k-128k-token batches; the decoding rows
# (greedy and beam 5 at CPU and GPU batch sizes, and which precision decoding's auto picks);
# Decoder.step compiled against eager at the reference size (scripts/compile_step.py); whether new
# batch shapes are what slows bf16 and fp16 (scripts/shape_passes.py); the other precisions' rows;
# the update profiled in fp32 and bf16. Everything printed goes to OUT_DIR/session.log; the
# benchmark's figures also to OUT_DIR/*.json and the profile to OUT_DIR/loop.prof (the device tool
# returns at most 8 files).
set -uo pipefail
out=${1:?usage: bash scripts/gpu_session.sh OUT_DIR [SECONDS] [MINUTES]}
budget=${2:-540}
minutes=${3:-1}
mkdir -p "$out"
exec > >(tee -a "$out/session.log") 2>&1
start=$SECONDS

stage() {  # stage NAME SECONDS COMMAND...: COMMAND for at most SECONDS (and what is left)
  local name=$1 limit=$2 left=$((budget - (SECONDS - start)))
  shift 2
  ((left < limit)) && limit=$left
  if ((limit < 15)); then
    echo "== $name: skipped, ${left} s of the session's ${budget} left"
    return
  fi
  echo "== $name (at most $limit s; $((SECONDS - start)) s in)"
  timeout -k 5 "$limit" "$@"
  echo "== $name: exit status $? after $((SECONDS - start)) s"
}

if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
  export PYTHONPATH="$PWD:/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export SEQ2SEQ_DATA_MIRROR=${SEQ2SEQ_DATA_MIRROR:-$PWD/.gpu-data} PYTHONUNBUFFERED=1
run=runs/gpu-session
bench=(python3 scripts/benchmark.py --run "$run" --device cuda --threads 8 --windows 3)
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"

train=(python3 -m seq2seq.train experiment=multi30k_de_en hardware=gpu train.progress=false)
stage train 110 "${train[@]}" train.max_minutes="$minutes" hydra.run.dir=$run
cp $run/metrics.jsonl "$out/" 2>/dev/null
stage time_to_quality 15 python3 scripts/time_to_quality.py $run
stage loop_overhead 60 python3 scripts/loop_overhead.py experiment=multi30k_de_en hardware=gpu \
  --device cuda --threads 8 --updates 40 --rounds 3
stage loop_profile 60 python3 -m cProfile -o "$out/loop.prof" "${train[@]:1}" \
  train.max_minutes=0.3 train.valid_every=0 hydra.run.dir=runs/gpu-profiled
stage loop_profile_table 15 python3 -c "import pstats; s = pstats.Stats('$out/loop.prof'); \
s.sort_stats('tottime').print_stats(25); s.sort_stats('cumulative').print_stats('seq2seq', 40)"
stage benchmark_train 130 "${bench[@]}" --sections gemm,train --rows "fp32 fast path,auto fast" \
  --curve 4096,16384,65536,131072 --json "$out/benchmark_train.json"
stage benchmark_decode 100 "${bench[@]}" --sections decode \
  --rows "greedy fp32 256,batches of,beam 5 fp32 128,beam 5 fp16,beam 5 auto" \
  --json "$out/benchmark_decode.json"
stage compile_step 70 python3 scripts/compile_step.py --device cuda --threads 8 --windows 3 \
  experiment=joeynmt_reference train.precision=fp32
stage shape_passes 50 python3 scripts/shape_passes.py experiment=multi30k_de_en hardware=gpu \
  --device cuda --threads 8 --precisions fp32,bf16,fp16 --batches 30 --passes 3
stage benchmark_precisions 80 "${bench[@]}" --sections train --rows "bf16 fast path,fp16" \
  --json "$out/benchmark_precisions.json"
for precision in fp32 bf16; do
  stage "profile_$precision" 30 python3 scripts/profile_step.py --device cuda --rows 15 \
    experiment=multi30k_de_en hardware=gpu train.precision=$precision
done
echo "== session: $((SECONDS - start)) s"
