"""OpenMP's wait policy: `import glass` makes waiting threads sleep (PASSIVE) unless the user chose a policy.

Spinning threads made the demo 7 x slower on a loaded machine (bench/demo_threads.py, bench/results/demo_threads.json).
"""
import os, subprocess, sys

def policy(env:dict, code:str='import glass, os; print(os.environ.get("OMP_WAIT_POLICY"))'):
    return subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True, check=True).stdout.strip()

def test_passive_unless_chosen():
    env = {k: v for k, v in os.environ.items() if k != 'OMP_WAIT_POLICY'}
    assert policy(env) == 'PASSIVE'
    assert policy({**env, 'OMP_WAIT_POLICY': 'ACTIVE'}) == 'ACTIVE'

def test_set_before_torch_loads():
    "The `glass` command imports glass before torch, so libgomp reads the policy when it starts."
    env = {k: v for k, v in os.environ.items() if k != 'OMP_WAIT_POLICY'}
    assert policy(env, 'import sys, glass.cli; print("torch" in sys.modules)') == 'False'
