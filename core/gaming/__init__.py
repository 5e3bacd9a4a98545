"""Reward gaming through length: is PPO paid for longer answers rather than better ones?

- ``config``    MonitorConfig, the ``monitor:`` section of a run config
- ``monitor``   GamingMonitor: per-update length statistics, length-controlled reward, flags
- ``padding``   the padding attacks: reward-model length probe and judge padding attack
- ``overopt``   proxy reward vs KL beside judge and human win rates (pure functions)
- ``callback``  OverOptimisationCallback: policy vs reference on held-out prompts during PPO
- ``panel``     what the training monitor shows: all of the above read back from the store
- ``charts``    the monitor panel's plotly figures

Only ``MonitorConfig`` is imported here, so ``core.config`` can import it without pulling
numpy, pandas or transformers; import the rest from their modules.
"""
from core.gaming.config import MonitorConfig

__all__ = ["MonitorConfig"]
