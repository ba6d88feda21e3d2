"""Talking to cellular modules: AT engine, parsers, vendor profiles and a simulator."""
