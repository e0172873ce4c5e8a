"""BM25 keyword retrieval (bm25s, English stemming and stopwords), persisted with each index
generation and rebuilt whenever ingestion commits a new one."""

from __future__ import annotations

from pathlib import Path

DIRNAME = "bm25"


def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


class BM25Index:
    def __init__(self, model) -> None:
        self._model = model
        self._stemmer = _stemmer()

    @classmethod
    def build(cls, texts: list[str]) -> BM25Index:
        import bm25s

        model = bm25s.BM25()
        tokens = bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), show_progress=False)
        model.index(tokens, show_progress=False)
        return cls(model)

    def save(self, gen_dir: Path) -> None:
        self._model.save(str(gen_dir / DIRNAME))

    @classmethod
    def load(cls, gen_dir: Path) -> BM25Index:
        import bm25s

        return cls(bm25s.BM25.load(str(gen_dir / DIRNAME)))

    def search(self, query: str, k: int, n_docs: int) -> list[tuple[int, float]]:
        """(row, score) of the k best rows with a positive score."""
        import bm25s

        tokens = bm25s.tokenize(
            [query], stopwords="en", stemmer=self._stemmer, return_ids=False, show_progress=False
        )
        if not tokens or not tokens[0] or n_docs == 0:
            return []
        docs, scores = self._model.retrieve(tokens, k=min(k, n_docs), show_progress=False)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
