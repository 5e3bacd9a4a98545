"""The six stages of the RLAIF loop, one module each: prompts, generation, judging, preferences,
reward model, PPO; plus the callback through which training stages report to the store."""
