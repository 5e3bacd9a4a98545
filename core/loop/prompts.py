"""Stage 1: sample a diverse, seeded subset of the prompts (read by ``core.data.prompts_file``).

Diversity comes from k-means over TF-IDF vectors of the prompts: the sample is drawn
round-robin across clusters, so a topic that fills half the file cannot fill half the run.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from core.schema import Prompt


def cluster_prompts(texts: Sequence[str], n_clusters: int, seed: int) -> np.ndarray:
    """K-means cluster labels over TF-IDF vectors (clusters capped at the number of prompts)."""
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    k = max(1, min(n_clusters, len(texts)))
    if k == 1:
        return np.zeros(len(texts), dtype=int)
    vectors = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=1).fit_transform(texts)
    return KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(vectors)


def sample_prompts(prompts: Sequence[Prompt], n: int, *, n_clusters: int = 8, seed: int = 0,
                   exclude: Collection[str] = ()) -> list[Prompt]:
    """A seeded sample of ``n`` prompts spread round-robin across TF-IDF clusters.

    Prompts whose id is in ``exclude`` (used in earlier rounds) are drawn only when the
    rest run out. Each returned Prompt carries its cluster label.
    """
    labels = cluster_prompts([p.text for p in prompts], n_clusters, seed)
    rng = np.random.default_rng(seed)
    fresh = [i for i, p in enumerate(prompts) if p.prompt_id not in exclude]
    used = [i for i, p in enumerate(prompts) if p.prompt_id in exclude]
    chosen: list[int] = []
    for pool in (fresh, used):
        by_cluster = {}
        for i in rng.permutation(pool) if pool else []:
            by_cluster.setdefault(int(labels[i]), []).append(int(i))
        queues = [by_cluster[c] for c in sorted(by_cluster)]
        while len(chosen) < n and any(queues):
            for queue in queues:
                if queue and len(chosen) < n:
                    chosen.append(queue.pop(0))
    return [Prompt(prompts[i].prompt_id, prompts[i].text, prompts[i].category, int(labels[i])) for i in chosen]
