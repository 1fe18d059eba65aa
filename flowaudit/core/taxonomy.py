"""The personal-data taxonomy: fixed ids shared by detectors, signatures, declarations and findings."""

from __future__ import annotations

TYPE_IDS: tuple[str, ...] = (
    "imei", "meid", "imsi", "iccid", "serial_number", "android_id", "oaid", "vaid", "aaid", "gaid",
    "idfa", "idfv", "mac_address", "bluetooth_mac", "wifi_ssid", "wifi_bssid", "cell_location",
    "precise_location", "coarse_location", "ip_address", "phone_number", "email", "real_name",
    "id_card_number", "passport_number", "bank_card_number", "credentials", "installed_apps",
    "running_processes", "contacts", "sms", "call_log", "clipboard", "photos", "audio", "sensor_data",
    "device_model", "os_version", "carrier", "screen_info",
)
