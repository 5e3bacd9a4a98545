"""Human labels inside the loop: where a run finds them (``sources``), the judge gate that
stops a run whose judge disagrees with people (``gate``), and the RLHF arm that trains a
reward model on human labels beside the one on the judge's labels (``arms``, ``panel``)."""
