"""A real CUDA workload for test/gpu/check.sh: matmuls on GPU 0 for SECONDS.

Usage: python3 matmul.py SECONDS [PIDFILE]. PIDFILE gets this process's pid once CUDA is
initialised, i.e. once nvidia-smi can list it as a compute process.
"""
import os
import sys
import time

import torch

seconds = float(sys.argv[1])
a = torch.randn(4096, 4096, device="cuda")
b = torch.randn(4096, 4096, device="cuda")
torch.cuda.synchronize()
if len(sys.argv) > 2:
    with open(sys.argv[2], "w") as f:
        f.write(str(os.getpid()))
end = time.time() + seconds
while time.time() < end:
    (a @ b).sum().item()
