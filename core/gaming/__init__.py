"""Reward gaming through length: is the policy paid for longer answers rather than better ones?

- ``monitor``   GamingMonitor: per-update length statistics, length-controlled reward, flags
- ``padding``   the padding attacks: reward-model length probe and judge padding attack
- ``overopt``   proxy reward vs KL beside judge and human win rates (pure functions)
- ``callback``  OverOptimisationCallback: policy vs reference on held-out prompts during RL

Its settings are ``core.config.MonitorConfig`` (section ``monitor:``); what the training monitor
shows of it is ``core/views/gaming_panel.py`` and ``core/views/gaming_charts.py``.
"""
