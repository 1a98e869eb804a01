"""The data side: contracts, the one source reader, modalities, validation, preprocessing, records.

No Keras model code and no MLflow here.
"""
