"""People's labels and what is done with them: spot-check sessions, the team's votes, the join of
labels with judge verdicts, the calibrated judge's fitting, and human labels inside the loop (gate, RLHF arm)."""
