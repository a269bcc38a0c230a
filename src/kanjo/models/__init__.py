"""Model sources: the offline default encoder, local directories, hub ids, TF-IDF."""
