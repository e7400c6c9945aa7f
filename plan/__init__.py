"""Run planning: will an Axolotl run work and fit, on which GPUs, and how long it takes, before a GPU hour is paid for.

`python -m plan axolotl_configs/NAME.yml...` validates each run as Axolotl 0.21 would
(`run_config`), reads the prepared data against it (`data`), estimates the peak memory per
device (`memory`, with the activations in `activations`), finds the cheapest GPU setup that
holds it (`setups`, over the GPU sizes in `gpus`) and the step and epoch time (`speed`,
calibrated on the H200 measurements in `measured`). `report` prints it all.
"""
