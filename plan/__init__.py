"""Run planning: will this Axolotl run work, fit and how long will it take, before a GPU hour is paid for.

`python -m plan axolotl_configs/NAME.yml` validates the run as Axolotl 0.21 would
(`run_config`), reads the prepared data against it, and estimates peak memory per device
(`memory`, `activations`), the cheapest GPU setup that fits (`gpus`) and the step time
(`speed`). `report` writes it all out.
"""
