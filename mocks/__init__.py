"""Faithful fake vendor servers: WhatConverts, Caspio and Ours Privacy, on a shared kernel."""
