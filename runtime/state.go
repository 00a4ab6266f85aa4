package runtime

type persistedState struct{}
