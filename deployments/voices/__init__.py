"""Voice backends of the TTS engine: each turns text into a WAV file with one family of voices.

    class Backend:
        name: str                                   # the `tts_provider` value
        def load(self) -> None                      # raise Unavailable when absent
        def voices(self) -> list[Voice]
        def speak(self, text, voice, language, speed, out: Path) -> list[Word]   # word timings

A bring-your-own-key backend (ElevenLabs) takes the caller's `api_key` as a last argument to
`voices` and `speak`; its voices live in the caller's account, not in the catalogue.
"""
