"""Colour hints: what a user (or a simulation of one) tells the model beside the grey photo.

- `simulate`: hints drawn from the truth, for training (Zhang et al. 2017's recipe) and for evaluation.
"""
