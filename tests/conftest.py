"""Test-session settings: one thread per test process.

The tests run in parallel processes (`pytest -n 2`); torch's default of one thread per core in every
process oversubscribes the CPU, which slows small models down by an order of magnitude.
"""
import os
os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('WANDB_MODE', 'offline')
