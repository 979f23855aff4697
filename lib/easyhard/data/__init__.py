"""Data models: the mixed cumulant model, CIFAR-10 and Gaussian surrogates."""
