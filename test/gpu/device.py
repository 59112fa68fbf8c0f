"""Prints, as JSON, the CUDA device a leased child sees (test/gpu/check.sh, step lease)."""
import json
import os

import torch

props = torch.cuda.get_device_properties(0)
uuid = getattr(props, "uuid", None)  # torch >= 2.1; printed without the GPU- prefix
print(
    json.dumps(
        {
            "visible": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "order": os.environ.get("CUDA_DEVICE_ORDER"),
            "count": torch.cuda.device_count(),
            "name": torch.cuda.get_device_name(0),
            "uuid": None if uuid is None else str(uuid),
        }
    )
)
