"""Supernets (elastic) and static subnet builders."""
