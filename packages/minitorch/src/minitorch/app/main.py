"""The MiniTorch sandbox: ``streamlit run main.py -- N`` shows the pages of modules 0..N.

``minitorch app [N]`` runs this file. Each page can be opened directly as ``?page=<slug>``.
"""

from __future__ import annotations

import sys

import streamlit as st

from minitorch.app.pages import all_pages, modules_shown

st.set_page_config(page_title="MiniTorch sandbox", page_icon="🔥", layout="wide")

last = modules_shown(sys.argv[1:])
pages = [p for p in all_pages() if p.module <= last]
titles = [f"{p.module} · {p.title}" for p in pages]
slugs = [p.slug for p in pages]
asked = st.query_params.get("page")
start = slugs.index(asked) if asked in slugs else 0

st.sidebar.title("MiniTorch")
st.sidebar.caption(f"The course sandbox, modules 0–{last}")
choice = st.sidebar.radio("page", titles, index=start)
page = pages[titles.index(choice)]
st.query_params["page"] = page.slug
page.render()
