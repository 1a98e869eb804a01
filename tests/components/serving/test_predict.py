"""`predict_outputs`: the compiled predict step in chunks gives what `Model.predict` gives."""

import keras
import numpy as np

from components.serving import output_dict, predict_outputs


def test_chunks_of_a_two_input_model_match_model_predict():
    image, table = keras.Input((4, 4, 3), name="image"), keras.Input((5,), name="tabular")
    joined = keras.layers.Concatenate()([keras.layers.Flatten()(image), table])
    model = keras.Model(
        [image, table],
        {
            "kind": keras.layers.Dense(3, activation="softmax", name="kind")(joined),
            "score": keras.layers.Dense(1, name="score")(joined),
        },
    )
    rng = np.random.default_rng(0)
    inputs = [rng.random((7, 4, 4, 3), dtype=np.float32), rng.random((7, 5), dtype=np.float32)]
    expected = output_dict(model, model.predict(inputs, verbose=0))
    for chunk in (3, 7, 512):  # uneven chunks, one exact chunk, one call
        got = predict_outputs(model, inputs, 7, chunk=chunk)
        assert set(got) == {"kind", "score"}
        for name in got:
            assert got[name].shape == expected[name].shape
            np.testing.assert_allclose(got[name], expected[name], rtol=1e-5, atol=1e-6)
    one = predict_outputs(model, [a[:1] for a in inputs], 1)
    np.testing.assert_allclose(one["score"], expected["score"][:1], rtol=1e-5, atol=1e-6)
