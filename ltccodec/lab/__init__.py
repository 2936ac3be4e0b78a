"""The lab (the `ltccodec[train]` extra, torch): the trainable model (`ltc`, `transforms`, `prior`), training
(`train`, `runs`), evaluation (`evaluate`, `theory`, `critic`), model files written (`modelio`), the data sources
(`sources`) and the benchmarks (`bench`). The lab imports the codec; the codec never imports the lab."""
