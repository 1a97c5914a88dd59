"""Streamlit pages: chat, evidence map, maintainer view. app.py only wires them up."""
