"""Scoring the networks and the measurement chain against labelled data (`cardiotrace evaluate`)."""
