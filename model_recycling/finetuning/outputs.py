"""Two ways to read a label off a model, chosen by its architecture:
- ClassifierOutput: encoder + freshly initialised classification (or regression) head;
- TextToTextOutput: encoder-decoder (T5) trained to write the label id as text, scored by
  restricted choice: the most likely of the allowed label strings, so a prediction is never an
  unparseable generation.
"""

from __future__ import annotations

import numpy as np
import torch

from model_recycling.metrics import require_finite


class ClassifierOutput:
    """Logits of a classification head; one value for regression."""

    def __init__(self, task, tokenizer):
        self.regression = task.is_regression

    def loss(self, model, batch, labels):
        dtype = torch.float32 if self.regression else torch.long
        return model(
            **batch, labels=torch.as_tensor(labels, dtype=dtype, device=_device(model))
        ).loss

    def predict(self, model, batch) -> np.ndarray:
        logits = model(**batch).logits.float().cpu()
        require_finite(logits, "model outputs")  # NaN logits would still give an argmax
        return (logits[:, 0] if self.regression else logits.argmax(1)).numpy()


class TextToTextOutput:
    """Targets are label strings: the label id as text ("0", "1", ...) or, for regression, the
    value rounded to `regression_step` (as T5 did for STS-B)."""

    regression_step = 0.2

    def __init__(self, task, tokenizer):
        self.regression = task.is_regression
        if self.regression:
            values = {self._round(ex["label"]) for ex in task.train}
            self.choices = sorted(values)
            self.strings = [f"{v:g}" for v in self.choices]
        else:
            self.choices = list(range(task.num_labels))
            self.strings = [str(i) for i in self.choices]
        ids = tokenizer(self.strings)["input_ids"]
        width = max(len(i) for i in ids)
        self.targets = torch.tensor([i + [-100] * (width - len(i)) for i in ids])

    def _round(self, value: float) -> float:
        return round(round(value / self.regression_step) * self.regression_step, 6)

    def choice_of(self, label) -> int:
        if self.regression:
            return int(np.argmin([abs(c - label) for c in self.choices]))
        return int(label)

    def loss(self, model, batch, labels):
        targets = self.targets[[self.choice_of(label) for label in labels]]
        return model(**batch, labels=targets.to(_device(model))).loss

    def predict(self, model, batch) -> np.ndarray:
        """Log-likelihood of every allowed string; the best one wins."""
        encoder_outputs = model.get_encoder()(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        )
        n = batch["input_ids"].shape[0]
        scores = []
        for target in self.targets.to(_device(model)):
            labels = target.unsqueeze(0).expand(n, -1).contiguous()
            logits = model(
                encoder_outputs=encoder_outputs,
                attention_mask=batch["attention_mask"],
                labels=labels,
            ).logits.float()
            mask = labels != -100
            token_logp = logits.log_softmax(-1).gather(-1, labels.clamp(min=0).unsqueeze(-1))
            scores.append((token_logp.squeeze(-1) * mask).sum(-1))
        scores = torch.stack(scores, dim=1).cpu()
        require_finite(scores, "model outputs")
        best = scores.argmax(1).numpy()
        return np.array([self.choices[i] for i in best], dtype=float if self.regression else int)


def output_for(model, task, tokenizer):
    if getattr(model.config, "is_encoder_decoder", False):
        return TextToTextOutput(task, tokenizer)
    return ClassifierOutput(task, tokenizer)


def _device(model) -> torch.device:
    return next(model.parameters()).device
