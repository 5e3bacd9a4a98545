#!/usr/bin/env bash
# Set up, convert the embedded SmolLM2 once, and start the dashboard. Extra args go to streamlit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -c "from core.models import ensure_embedded_model as e; print('embedded model:', e())"
# The dashboard's store gets the sample pairs (and their yardstick verdicts) once, as its first start would;
# then the default judge reads them once, so the spot-check can reveal its verdicts (later starts skip both).
.venv/bin/python -c "from core.views.session import open_store; print('store:', open_store().path)"
.venv/bin/python -m core judge --source dataset:sample --judge sample_data/default_judge.yaml
# Usage statistics off (also in .streamlit/config.toml): the tool is offline and handles private data.
exec .venv/bin/streamlit run dashboard/app.py --browser.gatherUsageStats false "$@"
