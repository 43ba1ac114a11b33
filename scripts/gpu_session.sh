#!/usr/bin/env bash
# Issue #21's GPU measurements in one run (about 9 minutes on one H200), made for the device
# tool's machine, whose Python lacks Hydra and whose working tree lacks ../shared. Prepare here:
#   echo /.whl/ >> .git/info/exclude; echo /.gpu-data/ >> .git/info/exclude
#   pip wheel --no-deps -w .whl hydra-core==1.3.8 omegaconf==2.3.1 antlr4-python3-runtime==4.9.3
#   mkdir -p .gpu-data && cp ../shared/data/multi30k/* .gpu-data/
# then run there, carrying .whl and .gpu-data:  bash scripts/gpu_session.sh "$OUT" [MINUTES]
# It trains the de-en recipe with hardware=gpu for MINUTES (default 3; its validations give the
# time to quality at 16k-token batches), benchmarks that run (every training row, fp16 and TF32
# off included, tokens/s for 4k-64k-token batches, greedy and beam 5 at GPU batch sizes) and
# profiles one update in fp32 and in bf16; last, it times the reference size's step loop with
# Decoder.step compiled against eager (scripts/compile_step.py). Everything it prints is also
# written to OUT_DIR.
set -euo pipefail
out=${1:?usage: bash scripts/gpu_session.sh OUT_DIR [MINUTES]}
minutes=${2:-3}
mkdir -p "$out"
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
  export PYTHONPATH="$PWD:/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export SEQ2SEQ_DATA_MIRROR=${SEQ2SEQ_DATA_MIRROR:-$PWD/.gpu-data} PYTHONUNBUFFERED=1
run=runs/gpu-session
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -m seq2seq.train experiment=multi30k_de_en hardware=gpu train.max_minutes="$minutes" \
  train.progress=false hydra.run.dir=$run 2>&1 | tail -4
cp $run/metrics.jsonl "$out/"
python3 scripts/time_to_quality.py $run | tee "$out/time_to_quality.md"
# every row but "train auto step loop" (auto appears in its fast-path row; a minute saved)
python3 scripts/benchmark.py --run $run --device cuda --threads 8 --windows 3 \
  --rows "fast path,fp32 step loop,bf16 step loop,greedy,beam" \
  --curve 4096,16384,32768,65536 --json "$out/benchmark.json" | tee "$out/benchmark.md"
for precision in fp32 bf16; do
  python3 scripts/profile_step.py --device cuda --rows 20 experiment=multi30k_de_en \
    hardware=gpu train.precision=$precision | tee "$out/profile_$precision.txt"
done
python3 scripts/compile_step.py --device cuda --threads 8 --windows 3 \
  experiment=joeynmt_reference train.precision=fp32 | tee "$out/compile_step.txt"
