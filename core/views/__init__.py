"""What a page or the report shows: tables, sentences and plotly figures prepared from the other parts.

The dashboard imports core only through this package; nothing here imports streamlit."""
