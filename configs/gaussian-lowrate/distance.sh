#!/bin/bash
# The distance-coded E8 SD models and the 1.18 bit/value model with measured tables, as trained for
# models/ (each card's training.command is the exact line). About a minute each on one core.
set -e
L="--source gaussian:8 --lattice E8 --randomness sd --lambda-perception 100 --epochs 10 --steps-per-epoch 300
   --batch-size 1024 --out-dir models --quiet"
for r in 1.85 1.6 1.3 1.0; do  # the SD construction's fixed step (configs/gaussian-lowrate/step-R.json)
  ltc train --config configs/gaussian-lowrate/step-$r.json $L --lambda-mse 1 --distance-code 1 \
    --name gaussian8-e8-sd-x$r
done
ltc train --config configs/gaussian-lowrate/step-0.7.json $L --lambda-mse 1 --distance-code 2 \
  --name gaussian8-e8-sd-x0.7
ltc train $L --lambda-mse 0.5 --measured-tables --distance-code 2 --name gaussian8-e8-sd-l0.5x
ltc train $L --lambda-mse 2 --measured-tables --name gaussian8-e8-sd-l2m
