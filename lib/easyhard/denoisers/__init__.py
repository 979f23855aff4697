"""Denoisers: the DDPM U-Net (:mod:`easyhard.denoisers.unet`) and simple tied denoisers."""
