class RandomFooError extends Error {}

throw new RandomFooError("Random Foo Error");
