"""Shared logic of the Cityscapes UNet notebook series."""
