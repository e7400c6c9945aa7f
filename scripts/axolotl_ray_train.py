"""`axolotl train CONFIG --use-ray`, with Ray workers that may have no GPU.

Axolotl 0.21's Ray path assumes GPU workers in four places. This launcher runs `axolotl train
CONFIG --use-ray` itself (config validation, Ray Train's TorchTrainer, the training loop on each
worker are Axolotl's) and lifts those assumptions only where a worker has no CUDA device, so on
GPU workers nothing changes:

1. The driver asks Ray for ScalingConfig(use_gpu=True) whatever `resources_per_worker` says, so
   on a cluster without GPUs the run waits forever ("No available node types can fulfill
   resource request {'CPU': 1.0, 'GPU': 1.0}"). Here use_gpu follows `resources_per_worker`:
   without a "GPU" key the workers are CPU processes and Ray Train joins them with gloo.
2. With more than one worker, each worker asks torch whether GPU 0 can reach GPU 1, which raises
   where torch is built for CUDA but the machine has no driver. Here the answer is "no".
3. With more than one worker, normalize_config overrides the CPU device map it has just chosen
   with {"": LOCAL_RANK}, which places the model on cuda:LOCAL_RANK. Here a CPU worker keeps
   {"": "cpu"}.
4. Accelerate treats a worker as distributed only on an accelerator or when told it runs on
   CPU; otherwise each CPU worker trains alone on the same samples (no DDP, no sharding). Here a
   CPU worker sets ACCELERATE_USE_CPU, so the workers are one data-parallel group over gloo.

    python scripts/axolotl_ray_train.py axolotl_configs/smollm2_cpu_ray.yml [axolotl train options]
"""

import os
import sys

import axolotl.cli.train
import ray.train
from axolotl.cli.main import cli


class ScalingConfigFollowingResources(ray.train.ScalingConfig):
    """use_gpu is True exactly when resources_per_worker asks for a GPU (Ray's default: 1 GPU)."""

    def __post_init__(self):
        self.use_gpu = "GPU" in (self.resources_per_worker or {"GPU": 1})
        super().__post_init__()


def train_on_worker(kwargs: dict) -> None:
    """Axolotl's Ray worker function; on a worker without CUDA, with (2) to (4) lifted."""
    import torch
    from axolotl.cli.train import ray_train_func
    from axolotl.utils import config

    if not torch.cuda.is_available():
        os.environ["ACCELERATE_USE_CPU"] = "true"
        torch.cuda.can_device_access_peer = lambda device, peer_device: False
        normalize_config = config.normalize_config

        def normalize_config_keeping_cpu(cfg):
            normalize_config(cfg)
            cfg.device_map = {"": "cpu"}

        config.normalize_config = normalize_config_keeping_cpu
    ray_train_func(kwargs)


if __name__ == "__main__":
    # Both are looked up by axolotl.cli.train.do_cli when it builds the TorchTrainer.
    ray.train.ScalingConfig = ScalingConfigFollowingResources
    axolotl.cli.train.ray_train_func = train_on_worker
    cli(["train", *sys.argv[1:], "--use-ray"], prog_name="axolotl")
