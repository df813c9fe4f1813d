"""Offline training scripts for Kesher's shipped models; not part of the installed package."""
