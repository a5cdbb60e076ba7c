"""Labs: exercises whose learner writes docker commands (`commands.sh`) or a Compose file (`compose.yaml`).

A lab is checked against a policy before anything runs (`commands.py`, `compose.py`), run for real on the
leased sandbox daemon (`runner.py`), graded on the state it leaves (sandbox/grading/state.py), and torn down
(`teardown.py`): every container, volume, network and image it made is removed afterwards.
"""
