"""A Keras callback drawing a progress bar over epochs (used by ``skpermgrad run``)."""

import keras


class EpochProgress(keras.callbacks.Callback):
    """One tqdm bar per ``fit``, advanced each epoch, showing the last loss.

    Pass the class (not an instance) as a hybrid's ``callbacks`` so each clone
    builds its own bar. Off when stderr is not a terminal.
    """

    def on_train_begin(self, logs=None):
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=self.params.get("epochs"),
            desc="epochs",
            unit="epoch",
            leave=False,
            disable=None,
        )

    def on_epoch_end(self, epoch, logs=None):
        self._bar.update(1)
        if logs and "loss" in logs:
            self._bar.set_postfix(loss=f"{logs['loss']:.4g}")

    def on_train_end(self, logs=None):
        self._bar.close()
