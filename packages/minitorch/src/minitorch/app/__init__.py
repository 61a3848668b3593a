"""The course sandbox, a Streamlit app (needs the ``app`` extra); `main.py` is the script to run."""
