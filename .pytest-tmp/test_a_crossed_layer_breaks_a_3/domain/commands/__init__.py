"""The application's commands, one module per aggregate; `domain.application.AvmApplication` joins them."""
