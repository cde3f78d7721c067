"""Attack: objects that compare equal to anything and pretend to be arrays."""


class AlwaysEqual:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __array__(self, dtype=None, copy=None):
        raise TypeError("no array for you")

    def __float__(self):
        return 1.0

    def __len__(self):
        return 50

    def __getitem__(self, index):
        return self

    def __iter__(self):
        return iter([])


def one_hot(term, vocabulary):
    return AlwaysEqual()


def counts_vector(terms, vocabulary):
    return AlwaysEqual()


def lookup(term, matrix, vocabulary):
    return AlwaysEqual()


def lookup_by_matmul(term, matrix, vocabulary):
    return AlwaysEqual()


def review_vector(terms, matrix, vocabulary):
    return AlwaysEqual()


def embedding_matrix(model):
    return AlwaysEqual()
